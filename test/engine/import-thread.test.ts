import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { importFile, type ImportRequest } from '../../electron/engine/importers/import-file.js';
import { PointsBuilder, type PointsBatch } from '../../electron/engine/importers/points-batch.js';
import { threadChannel } from '../../electron/engine/importers/write-thread.js';
import type { JobContext } from '../../electron/engine/jobs/jobs.js';
import { workspaceKey } from '../../electron/engine/pii/settings.js';
import type { NormalRow } from '../../shared/domain/normalize.js';
import { freshEngine, writeFile } from '../helpers/workspace.js';

/**
 * Big imports are written on a worker thread while the importing thread reads (write-thread.ts).
 * Whichever thread writes, the workspace must end up the same, failures must roll back, and a
 * thread that cannot start must not cost the import.
 */

function job(over: Partial<{ cancelled: boolean }> = {}): JobContext & { cancelled: boolean } {
  return {
    id: 'test', cancelled: over.cancelled ?? false,
    throwIfCancelled() {
      if (this.cancelled) throw new Error('cancelled');
    },
    progress() {},
  };
}

/** Every table an import writes, in a fixed order, ids included. */
function dump(workspace: string): Record<string, unknown[]> {
  const db = new Database(workspace, { readonly: true });
  const out: Record<string, unknown[]> = {};
  for (const [table, order] of [['services', 'id'], ['series', 'id'], ['points', 'series_id, ts'], ['point_rollups', 'series_id, level, bucket_ts'], ['changes', 'id'], ['sources', 'id']] as const) {
    out[table] = db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all().map((row) => {
      const r = row as Record<string, unknown>;
      // A stored report differs in how long it took, and nothing else.
      if (table === 'sources') return { ...r, imported_at: 0, report: { ...(JSON.parse(r.report as string) as object), durationMs: 0 } };
      return r;
    });
  }
  db.close();
  return out;
}

// Telemetry with labels, repeats (duplicates) and points out of order; a second file overlaps the first.
function telemetry(from: number, n: number): string {
  const lines = ['timestamp,service,metric,value,host'];
  for (let i = from; i < from + n; i++) lines.push(`${1788220800 + (i % 997) * 60 + Math.floor(i / 997) * 86_400},svc${i % 5},cpu,${(i * 7) % 101},h${i % 3}`);
  lines.push(lines[3]!.replace(/,h\d$/, (m) => m)); // an exact repeat of an earlier row
  return `${lines.join('\n')}\n`;
}

async function importBoth(files: { name: string; content: string; kind: ImportRequest['kind'] }[]): Promise<{ reports: unknown[][]; dumps: Record<string, unknown[]>[] }> {
  const reports: unknown[][] = [];
  const dumps: Record<string, unknown[]>[] = [];
  // Two copies of one fresh workspace, so they share the key PII pseudonyms are made with.
  const { engine, dir, workspace: template } = await freshEngine();
  engine.close();
  const db = new Database(template);
  workspaceKey(db);
  db.close();
  for (const writeOnThread of [false, true]) {
    const workspace = path.join(dir, `${writeOnThread ? 'thread' : 'inline'}.sbw`);
    fs.copyFileSync(template, workspace);
    const mine: unknown[] = [];
    for (const f of files) {
      const file = writeFile(dir, f.name, f.content);
      const report = await importFile({ workspacePath: workspace, filePath: file, fileName: f.name, kind: f.kind, mapping: {}, timeUnit: 'auto', acceptValidRows: false, writeOnThread }, job());
      mine.push({ ...report, durationMs: 0 });
    }
    reports.push(mine);
    dumps.push(dump(workspace));
  }
  return { reports, dumps };
}

describe('writing an import on a worker thread', () => {
  it('leaves exactly what writing on the importing thread leaves: points, series, rollups, sources and reports', async () => {
    const files = [telemetry(0, 30_000), telemetry(20_000, 30_000)];
    const { reports, dumps } = await importBoth(files.map((content, i) => ({ name: `${'ab'[i]}.csv`, content, kind: 'telemetry' as const })));
    // What should be there, counted from the files: one point per series (service, host) and time.
    const keys = files.map((f) => new Set(f.trim().split('\n').slice(1).map((l) => { const [ts, svc, , , host] = l.split(','); return `${svc}/${host}/${ts}`; })));
    const all = new Set([...keys[0]!, ...keys[1]!]);
    expect(dumps[0]!.points).toHaveLength(all.size);
    expect(reports[0]!.map((r) => (r as { rowsAccepted: number }).rowsAccepted)).toEqual([keys[0]!.size, all.size - keys[0]!.size]);
    // The overlap (and the repeated row) is counted as already present, the same way on both threads.
    expect((reports[0]![1] as { duplicatesSkipped: number }).duplicatesSkipped).toBe(30_001 - (all.size - keys[0]!.size));
    expect(reports[1]).toEqual(reports[0]);
    expect(dumps[1]).toEqual(dumps[0]);
  });

  it('writes rows that are not telemetry the same way too (changes)', async () => {
    const lines = ['id,service,timestamp,kind,author,lines_added'];
    for (let i = 0; i < 3000; i++) lines.push(`c${i},svc${i % 4},${1788220800 + i * 600},deploy,dev${i % 9},${i % 300}`);
    const { reports, dumps } = await importBoth([{ name: 'changes.csv', content: `${lines.join('\n')}\n`, kind: 'changes' }]);
    expect((dumps[0]!.changes as unknown[]).length).toBe(3000);
    expect(reports[1]).toEqual(reports[0]);
    expect(dumps[1]).toEqual(dumps[0]);
  });

  it('reports rows stored with other values the same way on either thread', async () => {
    const head = 'id,service,severity,started_at,resolved_at,title\n';
    const rows = (resolved: string) => Array.from({ length: 60 }, (_, i) => `INC-${i},svc${i % 3},SEV2,2026-09-01T${String(i % 24).padStart(2, '0')}:00:00Z,${i % 2 === 0 ? resolved : ''},t${i}`).join('\n');
    const { reports } = await importBoth([
      { name: 'a.csv', content: `${head}${rows('')}\n`, kind: 'incidents' },
      { name: 'b.csv', content: `${head}${rows('2026-09-03T00:00:00Z')}\n`, kind: 'incidents' },
    ]);
    const later = reports[0]![1] as { rowsConflicting: number; conflicts: unknown[] };
    expect(later.rowsConflicting).toBe(30);
    expect(later.conflicts).toHaveLength(20);
    expect(reports[1]).toEqual(reports[0]);
  });

  it('rolls the whole import back when a write fails on the thread, names the failure, and releases the workspace', async () => {
    const { engine, dir, workspace } = await freshEngine();
    engine.close();
    const before = dump(workspace);
    // A real SQLite error half-way through: a trigger that refuses points after a certain time.
    const db = new Database(workspace);
    db.exec(`CREATE TRIGGER refuse_late BEFORE INSERT ON points WHEN NEW.ts > ${(1788220800 + 500 * 60) * 1000} BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END`);
    db.close();
    const file = writeFile(dir, 'a.csv', telemetry(0, 30_000));
    const request: ImportRequest = { workspacePath: workspace, filePath: file, fileName: 'a.csv', kind: 'telemetry', mapping: {}, timeUnit: 'auto', acceptValidRows: false, writeOnThread: true };
    await expect(importFile(request, job())).rejects.toThrow(/simulated disk failure/);
    const after = dump(workspace);
    expect(after).toEqual(before);
    // The thread's transaction is gone: the workspace takes the next import at once.
    const fix = new Database(workspace);
    fix.exec('DROP TRIGGER refuse_late');
    fix.close();
    const report = await importFile(request, job());
    expect(report.status).toBe('imported');
    expect(report.rowsAccepted).toBe(30_000);
  });

  it('stops and rolls back when the job is cancelled, on either thread', async () => {
    for (const writeOnThread of [false, true]) {
      const { engine, dir, workspace } = await freshEngine();
      engine.close();
      const before = dump(workspace);
      const file = writeFile(dir, 'a.csv', telemetry(0, 60_000));
      const ctx = job();
      let batches = 0;
      ctx.progress = () => {
        if (++batches === 3) ctx.cancelled = true;
      };
      await expect(importFile({ workspacePath: workspace, filePath: file, fileName: 'a.csv', kind: 'telemetry', mapping: {}, timeUnit: 'auto', acceptValidRows: false, writeOnThread }, ctx)).rejects.toThrow(/cancelled/);
      expect(dump(workspace)).toEqual(before);
    }
  });

  it('writes on this thread instead, saying so, when the worker cannot start', async () => {
    const { engine, dir, workspace } = await freshEngine();
    engine.close();
    const broken = path.join(dir, 'broken-worker.mjs');
    fs.writeFileSync(broken, "throw new Error('no loader here');\n");
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const channel = threadChannel({ workspacePath: workspace, kind: 'telemetry', format: 'csv', fileName: 'x.csv', fileSize: 1, pendingTag: 'pending-x' }, () => false, { code: broken, eval: false });
      const points = new PointsBuilder(100);
      const encode = (rows: NormalRow[]): PointsBatch => {
        for (const row of rows) points.row(row);
        return points.take();
      };
      const rows: NormalRow[] = Array.from({ length: 100 }, (_, i) => ({ kind: 'telemetry', ts: 1788220800000 + i * 60_000, service: 'api', metric: 'cpu', labels: {}, value: i }));
      // Handed over before the worker has failed to load, then after.
      await channel.points(encode(rows.slice(0, 50)));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await channel.points(encode(rows.slice(50)));
      const report = { status: 'imported' } as never;
      const result = await channel.finish({ mode: 'commit', sha256: 'f'.repeat(64), rowsAccepted: 100, rowsRejected: 0, options: '{}', report, startedAt: Date.now() }, () => undefined);
      await channel.close();
      expect(result.outcome).toBe('committed');
      expect(channel.threaded).toBe(false);
      expect(channel.counts()).toEqual({ added: 100, duplicates: 0, conflicting: 0, conflicts: [], differing: 0 });
      expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/writer thread unavailable \(no loader here\)/);
    } finally {
      warn.mockRestore();
    }
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM points').pluck().get()).toBe(100);
    db.close();
  });
});
