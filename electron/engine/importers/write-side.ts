import type { ImportFormat, ImportReport, RecordKind } from '../../../shared/contract/records.js';
import type { NormalRow } from '../../../shared/domain/normalize.js';
import { openWorkspace } from '../db/workspace.js';
import type { PointsBatch } from './points-batch.js';
import { createWriter, type WriteCounts as Counts } from './writer.js';

/**
 * The writing half of an import: one transaction on the workspace, from the sources row to the
 * commit. Plain data in and out, so it runs on the importing thread or on a worker thread
 * (write-thread.ts) while the importing thread reads the next rows.
 */

export interface WriteInit {
  workspacePath: string;
  kind: RecordKind;
  format: ImportFormat;
  fileName: string;
  fileSize: number;
  /** marks the sources row until the import commits (its sha256 is known only at the end) */
  pendingTag: string;
  /** stored changes and incidents the file gives with other values take the file's */
  updateExisting?: boolean;
}

export type { WriteCounts as Counts } from './writer.js';

export type FinishRequest =
  | { mode: 'rollback' }
  /** `report` is stored on the sources row as it is, with its sourceId and durationMs filled in here. */
  | { mode: 'commit'; sha256: string; rowsAccepted: number; rowsRejected: number; options: string; report: ImportReport; startedAt: number };

export type FinishResult =
  | { outcome: 'rolled-back' }
  | { outcome: 'duplicate-file'; existing: number }
  /** The same file again with updateExisting: the stored rows it differs from took its values, under the source that first brought it. */
  | { outcome: 'updated-from-duplicate'; existing: number }
  | { outcome: 'committed'; sourceId: number; durationMs: number };

export interface WriteSide {
  rows(rows: NormalRow[]): Counts;
  points(batch: PointsBatch): Counts;
  /** `check` is called between series while rollups are written: throwing there (a cancel) rolls back. */
  finish(request: FinishRequest, progress: (message: string) => void, check: () => void): FinishResult;
  /** Rolls back (if still open) and closes. Safe to call twice. */
  close(): void;
}

export function openWriteSide(init: WriteInit): WriteSide {
  // The engine checked the workspace's integrity when it opened it; checking again on every import
  // reads the whole file (0.3 s per million points here) before the first row is written.
  const db = openWorkspace(init.workspacePath, { skipIntegrityCheck: true });
  let open = false;
  try {
    // The writer creates every service and series before the rows that point at them, inside this
    // transaction; checking each point's foreign key again costs a third of the insert time.
    db.pragma('foreign_keys = OFF');
    db.exec('BEGIN IMMEDIATE');
    open = true;
  } catch (err) {
    db.close();
    throw err;
  }
  const sourceId = Number(db.prepare(`INSERT INTO sources (kind, format, file_name, sha256, byte_size, rows_accepted, rows_rejected, options, report, imported_at)
    VALUES (?, ?, ?, ?, ?, 0, 0, '{}', '{}', ?)`).run(init.kind, init.format, init.fileName, init.pendingTag, init.fileSize, Date.now()).lastInsertRowid);
  const writer = createWriter(db, sourceId, { updateExisting: init.updateExisting ?? false });
  // The importer's series numbers → this workspace's series ids.
  const seriesIds: number[] = [];
  let closed = false;
  let conflicting = 0;
  const rollback = (): void => {
    if (open) db.exec('ROLLBACK');
    open = false;
  };

  return {
    rows(rows) {
      for (const row of rows) {
        // Telemetry comes as columns (points), numbered by series once per import.
        if (row.kind === 'telemetry') throw new Error('telemetry rows are written as points');
        writer.write(row);
      }
      const counts = writer.flush();
      conflicting += counts.conflicting;
      return counts;
    },
    points(batch) {
      for (const [index, service, metric, labels] of batch.keys) seriesIds[index] = writer.series(service, metric, labels);
      const { series, ts, value } = batch;
      for (let i = 0; i < series.length; i++) writer.point(seriesIds[series[i]!]!, ts[i]!, value[i]!);
      return writer.flush();
    },
    finish(request, progress, check) {
      if (request.mode === 'rollback') {
        rollback();
        return { outcome: 'rolled-back' };
      }
      const existing = db.prepare('SELECT id FROM sources WHERE kind = ? AND sha256 = ?').pluck().get(init.kind, request.sha256) as number | undefined;
      if (existing !== undefined) {
        if (!init.updateExisting || conflicting === 0) {
          rollback();
          return { outcome: 'duplicate-file', existing };
        }
        // Imported before, when its differences were kept; now asked to apply them. There is one
        // source per file, so the rows it updated (and any it added) belong to the first one.
        for (const table of ['changes', 'incidents']) db.prepare(`UPDATE ${table} SET source_id = ? WHERE source_id = ?`).run(existing, sourceId);
        db.prepare('DELETE FROM sources WHERE id = ?').run(sourceId);
        db.exec('COMMIT');
        open = false;
        return { outcome: 'updated-from-duplicate', existing };
      }
      const touched = writer.touchedSeries();
      let refreshed = 0;
      for (const seriesId of touched.keys()) {
        writer.writeRollups(seriesId);
        check();
        progress(`summarising series ${++refreshed} of ${touched.size} for the timeline`);
      }
      const durationMs = Date.now() - request.startedAt;
      const report = { ...request.report, sourceId, durationMs };
      db.prepare('UPDATE sources SET sha256 = ?, rows_accepted = ?, rows_rejected = ?, options = ?, report = ? WHERE id = ?').run(
        request.sha256, request.rowsAccepted, request.rowsRejected, request.options, JSON.stringify(report), sourceId);
      db.exec('COMMIT');
      open = false;
      return { outcome: 'committed', sourceId, durationMs };
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        rollback();
      } finally {
        db.close();
      }
    },
  };
}
