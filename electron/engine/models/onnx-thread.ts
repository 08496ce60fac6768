import { Worker } from 'node:worker_threads';
import type { ModelManifest } from '../../../shared/contract/models.js';
import type { ErrorCode } from '../../../shared/contract/index.js';
import { EngineFailure, ModelUnavailable } from '../errors.js';
import { warmWorkerEntry, workerEntry } from '../threads.js';
import { loadSession, scoreOnnx, type BatchScores } from './onnx-model.js';

/**
 * An ONNX model's session on a worker thread of its own (onnx-worker.ts), for replays.
 * onnxruntime-node runs a batch synchronously on the thread that asks, so with the session here a
 * replay could only read changes, build features and score one after another. With it there, the
 * replay's thread reads and builds the next changes while the model scores the last ones, and the
 * session is created while the first changes load. If the thread cannot start, the session is
 * created on this thread and the replay goes on as before.
 */

export type ToOnnxThread =
  | { type: 'load'; manifest: ModelManifest; bytes: Uint8Array }
  | { type: 'score'; id: number; values: Float32Array; rows: number }
  | { type: 'release' };

export type FromOnnxThread =
  | { type: 'ready' }
  | { type: 'loaded' }
  | { type: 'load-failed'; code: ErrorCode; message: string }
  | { type: 'scored'; id: number; scores: Float64Array; errors: Array<string | null> | null; elapsedMs: number }
  | { type: 'score-failed'; id: number; code: ErrorCode; message: string; elapsedMs: number }
  | { type: 'released' };

export interface OnnxRunner {
  /** Settles when the session exists; rejects with why it could not be created. */
  ready: Promise<void>;
  /** Scores `rows` rows of `values` (row-major float32, handed over: the caller must not reuse it). */
  run(values: Float32Array, rows: number): Promise<BatchScores>;
  release(): Promise<void>;
  /** false when the session ended up on this thread */
  readonly threaded: boolean;
  /** The session is up on its thread and the thread has not failed: it may be kept for the next replay. */
  readonly healthy: boolean;
  /** Lets the process exit while this waits, unused (or holds it again). */
  hold(yes: boolean): void;
  /** Batches handed over and not yet answered. */
  readonly pending: number;
}

let warned = false;

/** The session on this thread (what a replay does when no thread can start). */
export function onnxHere(manifest: ModelManifest, bytes: Uint8Array): OnnxRunner {
  const session = loadSession(manifest.name, bytes);
  const ready = session.then(() => undefined);
  ready.catch(() => undefined); // whoever awaits ready hears of it; nobody else must
  return {
    ready, threaded: false, healthy: false, pending: 0, hold: () => undefined,
    run: async (values, rows) => scoreOnnx(await session, manifest, values, rows),
    release: async () => {
      const s = await session.catch(() => null);
      await s?.release();
    },
  };
}

export function onnxOnThread(manifest: ModelManifest, bytes: Uint8Array, entry = workerEntry(import.meta.url, 'onnx-worker')): OnnxRunner {
  let worker: Worker | null = null;
  try {
    if (entry) worker = new Worker(entry.code, { eval: entry.eval });
  } catch {
    worker = null;
  }
  if (!worker) return onnxHere(manifest, bytes);
  const w = worker;
  let here: OnnxRunner | null = null;
  let loaded = false;
  let stopped: Error | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve: (scores: BatchScores) => void; reject: (err: Error) => void }>();
  let settleReady!: { resolve: () => void; reject: (err: Error) => void };
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = { resolve, reject };
  });
  ready.catch(() => undefined);
  let released: (() => void) | null = null;
  w.on('message', (message: FromOnnxThread) => {
    switch (message.type) {
      case 'ready':
        return;
      case 'loaded':
        loaded = true;
        settleReady.resolve();
        return;
      case 'load-failed':
        stopped = new EngineFailure(message.code, message.message);
        settleReady.reject(stopped);
        return;
      case 'scored': {
        const p = pending.get(message.id);
        pending.delete(message.id);
        p?.resolve({ scores: message.scores, errors: message.errors ?? new Array<string | null>(message.scores.length).fill(null), elapsedMs: message.elapsedMs });
        return;
      }
      case 'score-failed': {
        const p = pending.get(message.id);
        pending.delete(message.id);
        // With the time the model took before it failed: a batch split to find the rows it throws
        // on is timed over all its tries.
        p?.reject(Object.assign(new EngineFailure(message.code, message.message), { elapsedMs: message.elapsedMs }));
        return;
      }
      case 'released':
        released?.();
    }
  });
  const lost = (why: string): void => {
    if (stopped || here) {
      released?.();
      return;
    }
    if (!loaded && !released) {
      // It never got as far as a session: create it here, and score here from now on.
      if (!warned) console.warn(`shadowbench: model thread unavailable (${why}); scoring on one thread`);
      warned = true;
      here = onnxHere(manifest, bytes);
      here.ready.then(settleReady.resolve, settleReady.reject);
      return;
    }
    // A run cannot go on without it: what was asked of it, and anything after, fails the run.
    stopped = new ModelUnavailable(`Model ${manifest.name}: its inference thread stopped (${why})`);
    settleReady.reject(stopped);
    for (const p of pending.values()) p.reject(stopped);
    pending.clear();
    released?.();
  };
  w.on('error', (err) => lost(err.message));
  w.on('exit', (code) => lost(`exit code ${code}`));
  // Copied, not handed over: if the thread fails to start, the bytes are needed here.
  w.postMessage({ type: 'load', manifest, bytes } satisfies ToOnnxThread);
  return {
    ready,
    get threaded() {
      return here === null;
    },
    get healthy() {
      return loaded && here === null && stopped === null;
    },
    get pending() {
      return pending.size;
    },
    hold(yes) {
      if (yes) w.ref();
      else w.unref();
    },
    async run(values, rows) {
      // Posted before this returns when the session is up: a replay hands over its next batches
      // and goes on reading while the thread scores them.
      if (!loaded) await ready;
      if (here) return here.run(values, rows);
      if (stopped) throw stopped;
      const id = nextId++;
      return new Promise<BatchScores>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.postMessage({ type: 'score', id, values, rows } satisfies ToOnnxThread, [values.buffer as ArrayBuffer]);
      });
    },
    async release() {
      if (!here && !stopped) {
        // Answered once the thread has let go of its session (after the batches before it), or
        // at once if the thread stops first.
        await new Promise<void>((resolve) => {
          released = resolve;
          w.postMessage({ type: 'release' } satisfies ToOnnxThread);
        });
      }
      if (here) await here.release();
      stopped ??= new ModelUnavailable(`Model ${manifest.name}: released`);
      await w.terminate();
    },
  };
}

/**
 * Model threads kept after a replay, for the next one: an SRE compares runs of the same models,
 * and a thread with its session up saves each replay ~50 ms of starting onnxruntime and creating
 * the session (the raw inference a replay is measured against keeps its session too). Keyed by
 * the model's content and manifest; a few at most, each let go after a minute unused.
 */
const IDLE_MS = 60_000;
const MAX_IDLE = 2;
const idle = new Map<string, { runner: OnnxRunner; timer: NodeJS.Timeout }>();

/** A model thread for `key` (the model's sha256 and manifest): a kept one if there is, else a new one. */
export function leaseOnnxThread(key: string, manifest: ModelManifest, bytes: Uint8Array): OnnxRunner {
  const kept = idle.get(key);
  let runner: OnnxRunner;
  if (kept && kept.runner.healthy) {
    idle.delete(key);
    clearTimeout(kept.timer);
    kept.runner.hold(true);
    runner = kept.runner;
  } else {
    // One whose thread stopped while it waited is let go, and a new one started.
    if (kept) void dropIdle(key);
    runner = onnxOnThread(manifest, bytes);
  }
  let returned = false;
  return {
    ready: runner.ready, run: runner.run, hold: runner.hold,
    get pending() {
      return runner.pending;
    },
    get threaded() {
      return runner.threaded;
    },
    get healthy() {
      return runner.healthy;
    },
    async release() {
      if (returned) return;
      returned = true;
      // Kept only if nothing is wrong with it, nothing is left queued on it (a run that stopped
      // part way), and no other thread for the same model is kept.
      if (!runner.healthy || runner.pending > 0 || idle.has(key)) return runner.release();
      runner.hold(false);
      const timer = setTimeout(() => void dropIdle(key), IDLE_MS);
      timer.unref();
      idle.set(key, { runner, timer });
      for (const old of [...idle.keys()].slice(0, Math.max(0, idle.size - MAX_IDLE))) await dropIdle(old);
    },
  };
}

async function dropIdle(key: string): Promise<void> {
  const kept = idle.get(key);
  if (!kept) return;
  idle.delete(key);
  clearTimeout(kept.timer);
  // Held while it lets go: a process that exits while the thread is releasing its session (the
  // thread torn down under onnxruntime) aborts with "terminate called after throwing Napi::Error".
  kept.runner.hold(true);
  await kept.runner.release().catch(() => undefined);
}

/** Lets go of every kept model thread (the engine closing). */
export async function releaseIdleOnnxThreads(): Promise<void> {
  await Promise.all([...idle.keys()].map(dropIdle));
}

/** How many model threads are kept (for tests). */
export const idleOnnxThreads = (): number => idle.size;

/** Readies this thread's code in the background (see warmWorkerEntry). */
export const warmOnnxThread = (): Promise<void> => warmWorkerEntry(import.meta.url, 'onnx-worker');
