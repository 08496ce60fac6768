import { Worker } from 'node:worker_threads';
import type { Db } from '../db/workspace.js';
import { waitList, warmWorkerEntry, workerEntry } from '../threads.js';
import { batchTransfers, SubjectTable, suggestionWriter, wireBatch, type RunSubjects, type SuggestionBatch, type WireBatch } from './suggestion-writer.js';

/**
 * Where a run's suggestions go: written on this thread, or on a worker thread while this one runs
 * the next batch through the model. onnxruntime-node's `run` holds this thread for the whole
 * inference, so on two cores storing batch k beside inferring batch k + 1 takes the time of the
 * slower of the two instead of their sum. The worker is suggestion-worker.ts.
 */
export interface SuggestionSink {
  readonly threaded: boolean;
  /** The run exists and its first subjects are known: batches for them may follow. */
  open(runId: number, subjects: RunSubjects): void;
  /** The next subjects, in run order (the replay read more changes): batches for them may follow. */
  more(subjects: RunSubjects): void;
  /** May wait: the writer is allowed only so many unwritten batches (memory stays flat). */
  write(batch: SuggestionBatch): Promise<void>;
  /** Waits until every batch handed over is written; throws what the writer failed with. */
  drain(): Promise<void>;
  /** Lets go of the writer; batches not yet written are dropped. */
  close(): Promise<void>;
}

export type ToSuggestionWriter =
  | { type: 'open'; path: string; runId: number; subjects: RunSubjects }
  | { type: 'subjects'; subjects: RunSubjects }
  | { type: 'batches'; batches: WireBatch[] }
  | { type: 'close' }
  /** a kept thread answers `ready` (if it has ended meanwhile, its exit arrives instead) */
  | { type: 'ping' };

export type FromSuggestionWriter = { type: 'ready' } | { type: 'written'; batches: number } | { type: 'failed'; message: string } | { type: 'closed' };

/** Batches (1024 rows by default, ~40 kB) the run may be ahead of its writer. */
const MAX_IN_FLIGHT = 16;
/**
 * Batches handed over per message. Each message wakes the writer thread, and on two cores busy with
 * reading and inference a wake-up often preempts the thread that sent it: four batches a message
 * wake it a quarter as often.
 */
const GROUP = 4;

/** On this thread: `writeNow` is `write` without the promise (an error is thrown, not returned). */
export function inlineSink(db: Db): SuggestionSink & { writeNow(batch: WireBatch): void } {
  let write: ((batch: WireBatch) => void) | null = null;
  const table = new SubjectTable();
  return {
    threaded: false,
    open(runId, subjects) {
      table.append(subjects);
      write = suggestionWriter(db, runId, table);
    },
    more(subjects) {
      table.append(subjects);
    },
    writeNow(batch) {
      write!(batch);
    },
    async write(batch) {
      write!(batch);
    },
    drain: async () => undefined,
    close: async () => undefined,
  };
}

let warned = false;

/**
 * The writer on a worker thread, started at once so that it loads while the run loads its changes.
 * If it cannot start, the batches are written on this thread and the run goes on.
 */
export function threadSink(db: Db, entry?: { code: string; eval: boolean } | null): SuggestionSink {
  // A thread kept from the last run is already listening; a given entry is a test's, always new.
  const kept = entry === undefined ? takeKept() : null;
  let worker: Worker | null = kept;
  try {
    const from = worker ? null : entry === undefined ? workerEntry(import.meta.url, 'suggestion-worker') : entry;
    if (from) worker = new Worker(from.code, { eval: from.eval });
  } catch {
    worker = null;
  }
  if (!worker) return inlineSink(db);
  const w = worker;
  let ready = false;
  let opened: { runId: number; subjects: RunSubjects[] } | null = null;
  let inline: SuggestionSink | null = null;
  let failure: Error | null = null;
  let inFlight = 0;
  let closed = false;
  // Messages held until the worker has loaded (their buffers are handed over only then).
  const held: ToSuggestionWriter[] = [];
  const acks = waitList();
  const notify = acks.wakeAll;
  let closing: (() => void) | null = null;
  let closedCleanly = false;
  // Batches written by the run but not yet handed over (at most GROUP − 1 between calls).
  const grouped: WireBatch[] = [];
  const flush = (): void => {
    if (grouped.length > 0 && !inline) send({ type: 'batches', batches: grouped.splice(0) });
  };
  const send = (message: ToSuggestionWriter): void => {
    if (!ready) held.push(message);
    else w.postMessage(message, message.type === 'batches' ? message.batches.flatMap(batchTransfers) : []);
  };
  const onMessage = (message: FromSuggestionWriter): void => {
    switch (message.type) {
      case 'ready':
        ready = true;
        for (const m of held.splice(0)) send(m);
        return;
      case 'written':
        inFlight -= message.batches;
        notify();
        return;
      case 'failed':
        failure ??= new Error(`storing the run's suggestions failed: ${message.message}`);
        notify();
        return;
      case 'closed':
        // Said by the thread itself (not its exit): it let go of its connection and is listening.
        closedCleanly = true;
        closing?.();
        return;
    }
  };
  w.on('message', onMessage);
  const lost = (why: string): void => {
    if (inline || closed) {
      closing?.();
      return;
    }
    if (ready) {
      if (!closed) failure ??= new Error(`the run's writer thread stopped (${why})`);
      closing?.();
      notify();
      return;
    }
    // It never started: write here what was held for it, and everything after.
    if (!warned) console.warn(`shadowbench: run writer thread unavailable (${why}); writing on one thread`);
    warned = true;
    const here = inlineSink(db);
    inline = here;
    try {
      if (opened) {
        here.open(opened.runId, opened.subjects[0]!);
        for (const part of opened.subjects.slice(1)) here.more(part);
      }
      for (const m of held.splice(0)) if (m.type === 'batches') for (const b of m.batches) here.writeNow(b);
      for (const b of grouped.splice(0)) here.writeNow(b);
    } catch (err) {
      failure ??= err instanceof Error ? err : new Error(String(err));
    }
    inFlight = 0;
    closing?.();
    notify();
  };
  const onError = (err: Error): void => lost(err.message);
  const onExit = (code: number): void => lost(`exit code ${code}`);
  w.on('error', onError);
  w.on('exit', onExit);
  if (kept) w.postMessage({ type: 'ping' } satisfies ToSuggestionWriter);
  const settle = async (): Promise<void> => {
    flush();
    while (inFlight > 0 && !failure && !inline) await acks.wait();
    if (failure) throw failure;
  };
  return {
    get threaded() {
      return inline === null;
    },
    open(runId, subjects) {
      opened = { runId, subjects: [subjects] };
      if (inline) inline.open(runId, subjects);
      else send({ type: 'open', path: db.name, runId, subjects });
    },
    more(subjects) {
      // Kept until the thread is known to have started: if it never does, they are written here.
      if (!ready) opened?.subjects.push(subjects);
      if (inline) inline.more(subjects);
      else send({ type: 'subjects', subjects });
    },
    async write(batch) {
      if (failure) throw failure;
      if (inline) return inline.write(batch);
      inFlight++;
      grouped.push(wireBatch(batch));
      if (grouped.length >= GROUP) flush();
      while (inFlight >= MAX_IN_FLIGHT && !failure && !inline) {
        flush();
        await acks.wait();
      }
      if (failure) throw failure;
    },
    drain: settle,
    async close() {
      if (closed) return;
      closed = true;
      if (!inline && ready) {
        // Let the worker close its connection (rolling back a batch it was in), then end it.
        await new Promise<void>((resolve) => {
          closing = resolve;
          w.postMessage({ type: 'close' } satisfies ToSuggestionWriter);
        });
        // A thread that wrote everything it was given and closed its connection serves the next
        // run: starting one costs ~50 ms of CPU, taken from the model it was meant to run beside.
        // (One that exited instead also ends the wait above, and is not kept.)
        if (closedCleanly && !failure && inFlight === 0 && entry === undefined && keep(w, () => w.off('message', onMessage).off('error', onError).off('exit', onExit))) return;
      }
      await w.terminate();
    },
  };
}

/** How long a writer thread is kept unused before it ends. */
const IDLE_MS = 60_000;
let spare: { worker: Worker; timer: NodeJS.Timeout; gone: () => void } | null = null;

/** Keeps a writer thread (holding no connection) for the next run; false if one is kept already. */
function keep(w: Worker, detach: () => void): boolean {
  if (spare) return false;
  // Only this module's listeners: Node's own (which ref the thread's port) stay.
  detach();
  // It stopped on its own: nothing to hand out. An idle thread never holds the process open.
  const gone = (): void => {
    if (spare?.worker === w) {
      clearTimeout(spare.timer);
      spare = null;
    }
  };
  w.on('exit', gone);
  w.on('error', gone);
  w.unref();
  const timer = setTimeout(() => void releaseKeptWriter(), IDLE_MS);
  timer.unref();
  spare = { worker: w, timer, gone };
  return true;
}

function takeKept(): Worker | null {
  if (!spare) return null;
  const { worker, timer, gone } = spare;
  spare = null;
  clearTimeout(timer);
  worker.off('exit', gone).off('error', gone);
  worker.ref();
  return worker;
}

/** The writer thread kept for the next run, if any (tests). */
export const keptWriterThread = (): Worker | null => spare?.worker ?? null;

/** Ends the writer thread kept for the next run, if any (engine close, tests). */
export async function releaseKeptWriter(): Promise<void> {
  const w = takeKept();
  if (w) await w.terminate();
}

/** Readies this thread's code in the background (see warmWorkerEntry). */
export const warmSuggestionWriter = (): Promise<void> => warmWorkerEntry(import.meta.url, 'suggestion-worker');
