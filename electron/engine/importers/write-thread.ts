import { Worker } from 'node:worker_threads';
import type { ErrorCode } from '../../../shared/contract/index.js';
import type { NormalRow } from '../../../shared/domain/normalize.js';
import { EngineFailure } from '../errors.js';
import { waitList, warmWorkerEntry, workerEntry } from '../threads.js';
import { transferList, type PointsBatch } from './points-batch.js';
import { CONFLICTS_KEPT } from './writer.js';
import { openWriteSide, type Counts, type FinishRequest, type FinishResult, type WriteInit, type WriteSide } from './write-side.js';

/**
 * Where an import's rows go: the write side on this thread, or on a worker thread while this one
 * parses the next rows. Parsing and validating cost about as much as the inserts (1.6 and 1.3 s per
 * million telemetry rows here), so on two cores a big import takes the time of the slower half
 * instead of the sum. The worker is write-worker.ts.
 */
export interface WriteChannel {
  readonly threaded: boolean;
  /** May wait: the worker is allowed only so many unwritten batches (memory stays flat). */
  rows(rows: NormalRow[]): void | Promise<void>;
  points(batch: PointsBatch): void | Promise<void>;
  /** What the batches written so far added, and the duplicates they skipped. */
  counts(): Counts;
  /** Waits until every batch handed over is written (then counts() is final). */
  drain(): Promise<void>;
  /** After every batch is written. Cancelling the job while rollups are written rolls back. */
  finish(request: FinishRequest, progress: (message: string) => void): Promise<FinishResult>;
  /** Rolls back whatever is not committed and lets go of the workspace. */
  close(): Promise<void>;
}

export type ToWriter =
  | { type: 'open'; init: WriteInit; cancel: SharedArrayBuffer }
  | { type: 'rows'; rows: NormalRow[] }
  | { type: 'points'; batch: PointsBatch }
  | { type: 'finish'; request: FinishRequest }
  | { type: 'close' };

export type FromWriter =
  | { type: 'ready' }
  | { type: 'written'; counts: Counts }
  | { type: 'progress'; message: string }
  | { type: 'finished'; result: FinishResult }
  | { type: 'failed'; message: string; code: string | null }
  | { type: 'closed' };

/**
 * Batches (of 4096 rows) the reader may run ahead of the writer: enough to cover the worker's
 * start (0.3 s under tsx), 2–3 MB of columns at most.
 */
const MAX_IN_FLIGHT = 32;

const add = (total: Counts, more: Counts): void => {
  total.added += more.added;
  total.duplicates += more.duplicates;
  total.conflicting += more.conflicting;
  total.differing += more.differing;
  total.conflicts.push(...more.conflicts.slice(0, CONFLICTS_KEPT - total.conflicts.length));
};
const noCounts = (): Counts => ({ added: 0, duplicates: 0, conflicting: 0, conflicts: [], differing: 0 });

/** The write side here, on this thread. */
export function inlineChannel(init: WriteInit, check: () => void): WriteChannel {
  return fromSide(openWriteSide(init), check);
}

function fromSide(side: WriteSide, check: () => void, total: Counts = noCounts()): WriteChannel {
  return {
    threaded: false,
    rows: (rows) => add(total, side.rows(rows)),
    points: (batch) => add(total, side.points(batch)),
    counts: () => ({ ...total, conflicts: [...total.conflicts] }),
    drain: async () => undefined,
    finish: async (request, progress) => side.finish(request, progress, check),
    close: async () => side.close(),
  };
}

let warned = false;

/**
 * The write side on a worker thread. Batches wait here until the worker has loaded; if it cannot
 * start (no loader, no threads), they are written on this thread instead and the import goes on.
 * `cancelled` is polled while waiting; once true the worker stops at its next batch or series.
 */
export function threadChannel(init: WriteInit, cancelled: () => boolean, entry = workerEntry(import.meta.url, 'write-worker')): WriteChannel {
  return startWriterThread(cancelled, entry).channel(init);
}

/** A writer thread started before its import knows it will write (see startWriterThread). */
export interface WriterThread {
  /** The thread as the import's write side (once). */
  channel(init: WriteInit): WriteChannel;
  /** Ends a thread no channel was made of (a refused file, a preview). Safe to call after channel(). */
  discard(): Promise<void>;
}

/**
 * Starts a writer thread ahead of its import. A thread takes ~45 ms to load on an idle machine but
 * 120–140 ms once the import's reading has begun beside it, and the writer is the slower half of a
 * big telemetry import: started while the file's head is sniffed and the workspace's settings read,
 * it is ready about when the first rows are.
 */
export function startWriterThread(cancelled: () => boolean, entry = workerEntry(import.meta.url, 'write-worker')): WriterThread {
  const check = (): void => {
    if (cancelled()) throw new Error('cancelled');
  };
  let worker: Worker | null = null;
  try {
    if (entry) worker = new Worker(entry.code, { eval: entry.eval });
  } catch {
    worker = null;
  }
  if (!worker) return { channel: (init) => inlineChannel(init, check), discard: async () => undefined };
  let init: WriteInit | null = null;
  let lostEarly: string | null = null;

  const cancelFlag = new SharedArrayBuffer(4);
  const total: Counts = noCounts();
  let ready = false;
  let inline: WriteChannel | null = null;
  let failure: Error | null = null;
  let inFlight = 0;
  let closed = false;
  // Messages held until the worker has loaded (their buffers are not handed over before then).
  const held: ToWriter[] = [];
  const acks = waitList();
  const notify = acks.wakeAll;
  let finishing: { resolve: (r: FinishResult) => void; reject: (e: Error) => void; progress: (m: string) => void } | null = null;
  let closing: (() => void) | null = null;
  const fail = (err: Error): void => {
    failure ??= err;
    notify();
    finishing?.reject(failure);
    finishing = null;
    closing?.();
  };
  const send = (message: ToWriter): void => {
    if (!ready) held.push(message);
    else worker!.postMessage(message, message.type === 'points' ? transferList(message.batch) : []);
  };
  worker.on('message', (message: FromWriter) => {
    switch (message.type) {
      case 'ready':
        ready = true;
        for (const m of held.splice(0)) send(m);
        return;
      case 'written':
        add(total, message.counts);
        inFlight--;
        notify();
        return;
      case 'progress':
        finishing?.progress(message.message);
        return;
      case 'finished':
        finishing?.resolve(message.result);
        finishing = null;
        return;
      case 'failed':
        fail(message.code ? new EngineFailure(message.code as ErrorCode, message.message) : new Error(message.message));
        return;
      case 'closed':
        closing?.();
        return;
    }
  });
  let exited = false;
  const lost = (why: string): void => {
    if (inline) return;
    if (init === null) {
      // Before its import asked for it: the channel, when asked for, writes on this thread.
      lostEarly ??= why;
      return;
    }
    if (ready) {
      if (!closed) fail(new Error(`the import's writer thread stopped (${why})`));
      else closing?.();
      return;
    }
    // It never started: write here what was held for it, and everything after.
    if (!warned) console.warn(`shadowbench: import writer thread unavailable (${why}); writing on one thread`);
    warned = true;
    try {
      inline = fromSide(openWriteSide(init), check, total);
      for (const m of held.splice(0)) {
        if (m.type === 'rows') void inline.rows(m.rows);
        else if (m.type === 'points') void inline.points(m.batch);
      }
      inFlight = 0;
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
    notify();
  };
  worker.on('error', (err) => lost(err.message));
  worker.on('exit', (code) => {
    exited = true;
    lost(`exit code ${code}`);
  });
  const timer = setInterval(() => {
    if (cancelled()) Atomics.store(new Int32Array(cancelFlag), 0, 1);
  }, 100);
  timer.unref();

  const queue = async (message: ToWriter): Promise<void> => {
    if (inline) {
      if (message.type === 'rows') await inline.rows(message.rows);
      else if (message.type === 'points') await inline.points(message.batch);
      return;
    }
    if (failure) throw failure;
    inFlight++;
    send(message);
    while (inFlight >= MAX_IN_FLIGHT && !failure && !inline) await acks.wait();
    if (failure) throw failure;
  };

  const channel: WriteChannel = {
    get threaded() {
      return inline === null;
    },
    rows: (rows) => queue({ type: 'rows', rows }),
    points: (batch) => queue({ type: 'points', batch }),
    counts: () => ({ ...total, conflicts: [...total.conflicts] }),
    async drain() {
      while (inFlight > 0 && !failure && !inline) await acks.wait();
      if (failure) throw failure;
    },
    async finish(request, progress) {
      // Every batch acknowledged first, so counts() is final when the answer comes.
      await this.drain();
      if (inline) return inline.finish(request, progress);
      return new Promise<FinishResult>((resolve, reject) => {
        finishing = { resolve, reject, progress };
        send({ type: 'finish', request });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      // Stop at the next batch or series, roll back what is not committed, close, then end the thread.
      Atomics.store(new Int32Array(cancelFlag), 0, 1);
      if (inline) await inline.close();
      else if (ready && !exited) {
        await new Promise<void>((resolve) => {
          closing = resolve;
          send({ type: 'close' });
        });
      }
      worker!.removeAllListeners();
      await worker!.terminate();
    },
  };
  let given = false;
  return {
    channel(writeInit) {
      if (given) throw new Error('a writer thread serves one import');
      given = true;
      init = writeInit;
      if (lostEarly !== null) {
        clearInterval(timer);
        void worker!.terminate();
        if (!warned) console.warn(`shadowbench: import writer thread unavailable (${lostEarly}); writing on one thread`);
        warned = true;
        return inlineChannel(writeInit, check);
      }
      send({ type: 'open', init: writeInit, cancel: cancelFlag });
      return channel;
    },
    async discard() {
      if (given) return;
      given = true;
      clearInterval(timer);
      worker!.removeAllListeners();
      await worker!.terminate();
    },
  };
}

/** Readies this thread's code in the background (see warmWorkerEntry). */
export const warmImportWriter = (): Promise<void> => warmWorkerEntry(import.meta.url, 'write-worker');
