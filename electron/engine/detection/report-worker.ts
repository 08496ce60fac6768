import { parentPort, workerData } from 'node:worker_threads';
import { openWorkspace } from '../db/workspace.js';
import { detectionReport } from './scorecard.js';

/**
 * A detection report computed on its own thread, over its own read-only connection: on a year of
 * telemetry it takes tens of seconds (bootstraps over incidents, NAB's threshold search, the alert
 * budget), and on the engine's thread every other call of the app would wait for it.
 */
const { path, runId, resamples } = workerData as { path: string; runId: number; resamples: number | undefined };
try {
  // openWorkspace as elsewhere: in Electron it finds the native binding built for Electron.
  const db = openWorkspace(path, { readonly: true, skipIntegrityCheck: true });
  try {
    parentPort!.postMessage({ ok: true, report: detectionReport(db, runId, { resamples }) });
  } finally {
    db.close();
  }
} catch (err) {
  const e = err as { code?: unknown; message?: unknown };
  parentPort!.postMessage({ ok: false, code: typeof e.code === 'string' ? e.code : 'internal', message: String(e.message ?? err) });
}
