import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { warmWorkerEntry, workerEntry } from '../threads.js';
import { computeMetrics, DEFAULT_COSTS, type ClassificationMetrics, type Costs, type Sorted } from '../../../shared/metrics/classification.js';
import { bootstrapSamples, DEFAULT_BOOTSTRAP, intervalsFromSamples, type BootstrapOptions, type Interval } from '../../../shared/metrics/bootstrap.js';
import { RESAMPLE_KEYS } from '../../../shared/metrics/resample.js';

/** What one worker is asked to compute: resamples from ≤ r < to. */
export interface BootstrapJob {
  /** echoed in the reply, so a thread shared by concurrent scorecards answers the right one */
  id: number;
  sorted: Sorted;
  threshold: number;
  costs: Costs;
  seed: number;
  from: number;
  to: number;
}

// Below this much work (subjects × resamples) starting threads costs more than it saves.
const PARALLEL_MIN_WORK = 5_000_000;

let warned = false;

// Threads are started on first use and kept (unref'd, so they never hold the process open):
// starting one costs a few hundred milliseconds, which a scorecard recomputed on every threshold
// change should pay once.
const pool: Worker[] = [];
let nextJob = 1;

function startWorker(entry: { code: string; eval: boolean }): Worker {
  const worker = new Worker(entry.code, { eval: entry.eval });
  worker.unref();
  return worker;
}

function runJob(worker: Worker, job: BootstrapJob): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (reply: { id: number; rows: Float64Array }): void => {
      if (reply.id !== job.id) return;
      done();
      resolve(reply.rows);
    };
    const onError = (e: Error): void => { done(); forget(worker); reject(e); };
    const onExit = (code: number): void => { done(); forget(worker); reject(new Error(`bootstrap worker exited with code ${code}`)); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job);
  });
}

function forget(worker: Worker): void {
  const i = pool.indexOf(worker);
  if (i >= 0) pool.splice(i, 1);
  void worker.terminate();
}

/**
 * The seeded percentile bootstrap of `bootstrapMetrics`, with its resamples split across worker
 * threads (one per core, at most 4, unless told) when the work is big enough to pay for them. Every resample
 * has its own seed, so the intervals are exactly those of the one-thread pass (a test holds them
 * equal); if a worker cannot start, the pass runs here instead.
 */
export async function bootstrapParallel(sorted: Sorted, threshold: number, costs: Costs = DEFAULT_COSTS, options: Partial<BootstrapOptions> & { threads?: number } = {}): Promise<{ point: ClassificationMetrics; intervals: Record<string, Interval>; threads: number }> {
  const { resamples, seed, level } = { ...DEFAULT_BOOTSTRAP, ...options };
  const point = computeMetrics(sorted, threshold, costs);
  const threads = Math.max(1, Math.min(options.threads ?? Math.min(os.availableParallelism(), 4), 8, resamples));
  const entry = workerEntry(import.meta.url, 'bootstrap-worker');
  if (threads === 1 || !entry || (options.threads === undefined && sorted.n * resamples < PARALLEL_MIN_WORK)) {
    return { point, intervals: intervalsFromSamples(point, bootstrapSamples(sorted, threshold, costs, seed, 0, resamples), level), threads: 1 };
  }
  const bounds = Array.from({ length: threads + 1 }, (_, i) => Math.round((i * resamples) / threads));
  let parts: Float64Array[];
  try {
    while (pool.length < threads) pool.push(startWorker(entry));
    parts = await Promise.all(bounds.slice(0, -1).map((from, i) => runJob(pool[i]!, { id: nextJob++, sorted, threshold, costs, seed, from, to: bounds[i + 1]! })));
  } catch (e) {
    // A sandbox without worker threads, or a missing loader: same numbers, one thread, said once.
    if (!warned) console.warn(`shadowbench: bootstrap worker threads unavailable (${e instanceof Error ? e.message : String(e)}); using one thread`);
    warned = true;
    return { point, intervals: intervalsFromSamples(point, bootstrapSamples(sorted, threshold, costs, seed, 0, resamples), level), threads: 1 };
  }
  const rows = new Float64Array(resamples * RESAMPLE_KEYS.length);
  parts.forEach((part, i) => rows.set(part, bounds[i]! * RESAMPLE_KEYS.length));
  return { point, intervals: intervalsFromSamples(point, rows, level), threads };
}

/** Readies this thread's code in the background (see warmWorkerEntry). */
export const warmBootstrapThreads = (): Promise<void> => warmWorkerEntry(import.meta.url, 'bootstrap-worker');
