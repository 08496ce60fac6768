import { Worker } from 'node:worker_threads';
import type { DetectionReport } from '../../../shared/contract/detection.js';
import { ERROR_CODES, type ErrorCode } from '../../../shared/contract/index.js';
import { EngineFailure } from '../errors.js';
import { workerEntry } from '../threads.js';

/**
 * Runs detectionReport on a worker thread (report-worker.ts), so the engine keeps answering while
 * it computes. Null when no thread can be started: the caller computes on its own thread instead.
 */
export function reportOnThread(path: string, runId: number, resamples: number | undefined, entry = workerEntry(import.meta.url, 'report-worker')): Promise<DetectionReport> | null {
  if (!entry) return null;
  let worker: Worker;
  try {
    worker = new Worker(entry.code, { eval: entry.eval, workerData: { path, runId, resamples } });
  } catch {
    return null;
  }
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: { ok: true; report: DetectionReport } | { ok: false; code: string; message: string }) => {
      if (reply.ok) resolve(reply.report);
      else reject(new EngineFailure((ERROR_CODES as readonly string[]).includes(reply.code) ? (reply.code as ErrorCode) : 'internal', reply.message));
      void worker.terminate();
    });
    worker.once('error', (err) => reject(err));
    worker.once('exit', (code) => reject(new Error(`the detection report's thread stopped (exit code ${code})`)));
  });
}
