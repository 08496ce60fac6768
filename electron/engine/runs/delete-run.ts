import { PAGE_SIZE, type Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { getRun } from './replay-changes.js';
import { getDetectionRun } from '../detection/replay-detection.js';
import { forget } from '../memo.js';

/**
 * Deleting a change-risk run: its suggestions and the drill results it took part in go with it. Not
 * a running run (its writer is still adding rows), and not one humans gave feedback on: feedback is
 * evidence and training labels, and it hangs on the run's suggestions.
 */
export function deleteRun(db: Db, id: number): { id: number; suggestions: number; drillResults: number } {
  const run = getRun(db, id);
  if (run.state === 'running') throw new EngineFailure('conflict', `Run ${id} is still running; cancel it first`);
  const feedback = db.prepare('SELECT count(*) FROM feedback WHERE run_id = ?').pluck().get(id) as number;
  if (feedback > 0) throw new EngineFailure('conflict', `Run ${id} has ${feedback} piece${feedback === 1 ? '' : 's'} of human feedback, which ${feedback === 1 ? 'is' : 'are'} evidence and training labels; it is kept`);
  const drills = db.prepare("SELECT count(*) FROM drill_results WHERE task = 'change-risk' AND (base_run_id = ? OR drill_run_id = ?)").pluck().get(id, id) as number;
  forget(db);
  return db.transaction(() => {
    const suggestions = db.prepare('DELETE FROM suggestions WHERE run_id = ?').run(id).changes;
    db.prepare("DELETE FROM drill_results WHERE task = 'change-risk' AND (base_run_id = ? OR drill_run_id = ?)").run(id, id);
    db.prepare('DELETE FROM runs WHERE id = ?').run(id);
    return { id, suggestions, drillResults: drills };
  })();
}

/**
 * Deleting a detection run: its per-step scores (the bulk: ~15 MB for four detectors over 90 days of
 * a dozen services), its alerts, and the drill results it took part in. A pipeline that runs
 * `detect` on every change would otherwise grow the workspace without end.
 */
export function deleteDetectionRun(db: Db, id: number): { id: number; alerts: number; scoreChunks: number; drillResults: number } {
  const run = getDetectionRun(db, id);
  if (run.state === 'running') throw new EngineFailure('conflict', `Detection run ${id} is still running; cancel it first`);
  const drills = db.prepare("SELECT count(*) FROM drill_results WHERE task = 'detection' AND (base_run_id = ? OR drill_run_id = ?)").pluck().get(id, id) as number;
  forget(db);
  return db.transaction(() => {
    const alerts = db.prepare('DELETE FROM detection_alerts WHERE run_id = ?').run(id).changes;
    const scoreChunks = db.prepare('DELETE FROM detection_scores WHERE run_id = ?').run(id).changes;
    db.prepare("DELETE FROM drill_results WHERE task = 'detection' AND (base_run_id = ? OR drill_run_id = ?)").run(id, id);
    db.prepare('DELETE FROM detection_runs WHERE id = ?').run(id);
    return { id, alerts, scoreChunks, drillResults: drills };
  })();
}

/**
 * SQLite's VACUUM: rewrites the file without the free pages deleted runs left. A workspace made
 * with SQLite's 4 KiB pages gets the 16 KiB pages a new one has (workspace.ts says why): VACUUM is
 * the one way to change them, and only outside WAL mode, which needs the file to itself. With another
 * connection on it (a CLI beside the app), it is compacted as it is.
 */
export function compactWorkspace(db: Db, file: string, size: (f: string) => number): { bytesBefore: number; bytesAfter: number } {
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytesBefore = size(file);
  if (db.pragma('page_size', { simple: true }) !== PAGE_SIZE && leaveWal(db)) {
    try {
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.exec('VACUUM');
    } finally {
      db.pragma('journal_mode = WAL');
    }
  } else {
    db.exec('VACUUM');
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { bytesBefore, bytesAfter: size(file) };
}

/** Out of WAL mode if no other connection holds the file; false (still in WAL mode) if one does. */
function leaveWal(db: Db): boolean {
  const previous = db.pragma('busy_timeout', { simple: true }) as number;
  try {
    db.pragma('busy_timeout = 0');
    return db.pragma('journal_mode = DELETE', { simple: true }) === 'delete';
  } catch {
    return false;
  } finally {
    db.pragma(`busy_timeout = ${previous}`);
  }
}
