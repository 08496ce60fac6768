import os from 'node:os';
import type { Db } from '../db/workspace.js';
import { forget } from '../memo.js';

/**
 * Work a killed process left behind (kill -9, an OOM kill, a power cut): runs still marked running
 * whose process is gone, and a retraining that never finished. Cancelled or failed work cleans up
 * after itself; this is the same clean-up, done by the next process that opens the workspace.
 */

/** This process, as recorded on the runs it starts. */
export const OWNER = `${os.hostname()}:${process.pid}`;

/**
 * Whether the process that started a run is certainly gone. A run from another host (a workspace on
 * a shared drive) is left alone: its process cannot be checked from here. Runs from before owners
 * were recorded have none, and only a crash leaves them running.
 */
export function ownerGone(owner: string | null): boolean {
  if (owner === null) return true;
  const at = owner.lastIndexOf(':');
  const host = owner.slice(0, at);
  const pid = Number(owner.slice(at + 1));
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const PENDING_RETRAIN = 'retrain.pending';

/** Marks a retraining in progress: if its process dies, the next open removes the version it was making. */
export function beginRetrain(db: Db, modelId: number, afterRun: number): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(PENDING_RETRAIN, JSON.stringify({ modelId, afterRun, owner: OWNER }));
}

export function endRetrain(db: Db): void {
  db.prepare('DELETE FROM meta WHERE key = ?').run(PENDING_RETRAIN);
}

/** Removes a retrained version and every run after `afterRun` (its comparison run). */
export function discardRetrain(db: Db, modelId: number, afterRun: number): void {
  forget(db);
  const runs = db.prepare('SELECT id FROM runs WHERE id > ?').pluck().all(afterRun) as number[];
  for (const id of runs) {
    db.prepare('DELETE FROM suggestions WHERE run_id = ?').run(id);
    db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  }
  db.prepare('DELETE FROM model_events WHERE model_id = ?').run(modelId);
  db.prepare('DELETE FROM models WHERE id = ?').run(modelId);
}

export interface Recovered {
  runs: number[];
  detectionRuns: number[];
  retrain: { modelId: number; name: string } | null;
}

const STOPPED = 'the app stopped while this run was in progress; its partial results were removed';

/**
 * Marks the dead processes' runs interrupted and removes their partial results, and undoes a
 * retraining that never finished. Never waits for a lock: if another process is writing, the
 * clean-up is left for a later open (reads must work beside a long import).
 */
export function recoverInterrupted(db: Db): Recovered {
  const none: Recovered = { runs: [], detectionRuns: [], retrain: null };
  if (db.readonly) return none;
  const previous = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    return db.transaction((): Recovered => {
      const now = Date.now();
      const runs = (db.prepare("SELECT id, owner FROM runs WHERE state = 'running'").all() as { id: number; owner: string | null }[]).filter((r) => ownerGone(r.owner)).map((r) => r.id);
      for (const id of runs) {
        db.prepare('DELETE FROM suggestions WHERE run_id = ?').run(id);
        db.prepare("UPDATE runs SET state = 'interrupted', finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) WHERE id = ?").run(now, STOPPED, id);
      }
      const detectionRuns = (db.prepare("SELECT id, owner FROM detection_runs WHERE state = 'running'").all() as { id: number; owner: string | null }[]).filter((r) => ownerGone(r.owner)).map((r) => r.id);
      for (const id of detectionRuns) {
        db.prepare('DELETE FROM detection_scores WHERE run_id = ?').run(id);
        db.prepare('DELETE FROM detection_alerts WHERE run_id = ?').run(id);
        db.prepare("UPDATE detection_runs SET state = 'interrupted', finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) WHERE id = ?").run(now, STOPPED, id);
      }
      // Runs that failed where even their clean-up could not write (a full disk) left results behind.
      db.prepare("DELETE FROM suggestions WHERE run_id IN (SELECT id FROM runs WHERE state NOT IN ('done', 'running'))").run();
      db.prepare("DELETE FROM detection_scores WHERE run_id IN (SELECT id FROM detection_runs WHERE state NOT IN ('done', 'running'))").run();
      db.prepare("DELETE FROM detection_alerts WHERE run_id IN (SELECT id FROM detection_runs WHERE state NOT IN ('done', 'running'))").run();
      let retrain: Recovered['retrain'] = null;
      const pending = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(PENDING_RETRAIN) as string | undefined;
      if (pending) {
        const p = JSON.parse(pending) as { modelId: number; afterRun: number; owner: string };
        if (ownerGone(p.owner)) {
          const m = db.prepare('SELECT name, version FROM models WHERE id = ?').get(p.modelId) as { name: string; version: number } | undefined;
          if (m) {
            // Its feedback and suggestions went with its runs; nothing else refers to a version nobody compared.
            db.prepare('DELETE FROM feedback WHERE model_id = ?').run(p.modelId);
            discardRetrain(db, p.modelId, p.afterRun);
            retrain = { modelId: p.modelId, name: `${m.name} v${m.version}` };
          }
          endRetrain(db);
        }
      }
      return { runs, detectionRuns, retrain };
    }).immediate();
  } catch (err) {
    if (/locked|busy/i.test((err as Error).message)) return none;
    throw err;
  } finally {
    db.pragma(`busy_timeout = ${previous}`);
  }
}
