import crypto from 'node:crypto';
import type { JobStatus } from '../../../shared/contract/records.js';
import { EngineFailure } from '../errors.js';

/**
 * Long work (imports, runs, reports) runs as jobs: the call returns an id at once, progress is
 * pushed as events at least every 500 ms, and cancel is honoured at the next batch boundary.
 * Jobs run one at a time because they write to the workspace; queueing them is simpler and
 * safer than letting SQLite's busy timeout decide who wins.
 */
export interface JobContext {
  readonly id: string;
  readonly cancelled: boolean;
  throwIfCancelled(): void;
  progress(update: { fraction: number | null; message: string; rows?: number }): void;
}

/** A job's first `share` of progress handed to a step of it (a drill's run), its messages prefixed. */
export function subJob(job: JobContext, share: number, prefix: string): JobContext {
  return {
    id: job.id,
    get cancelled() {
      return job.cancelled;
    },
    throwIfCancelled: () => job.throwIfCancelled(),
    progress: (u) => job.progress({ ...u, fraction: share * (u.fraction ?? 0), message: `${prefix}${u.message}` }),
  };
}

export class JobCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

type Listener = (job: JobStatus) => void;
type Work = (ctx: JobContext) => Promise<unknown>;

const HEARTBEAT_MS = 400;
const KEEP_FINISHED = 50;

interface Entry {
  status: JobStatus;
  cancelled: boolean;
  work: Work;
  rowsAt: Array<[number, number]>; // (time, rows) samples for a rate
  done: Promise<void>;
  resolveDone: () => void;
}

export class JobRunner {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private running: Entry | null = null;
  private readonly listeners = new Set<Listener>();

  onUpdate(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(kind: string, label: string, work: Work): JobStatus {
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const entry: Entry = {
      status: {
        id: crypto.randomUUID(), kind, label, state: 'queued',
        progress: { fraction: null, message: 'waiting for the previous job', rowsPerSecond: null, etaSeconds: null },
        startedAt: Date.now(), finishedAt: null, error: null,
      },
      cancelled: false, work, rowsAt: [], done, resolveDone,
    };
    this.entries.set(entry.status.id, entry);
    this.queue.push(entry);
    this.emit(entry);
    this.pump();
    return { ...entry.status };
  }

  get(id: string): JobStatus {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineFailure('not_found', `No job ${id}`);
    return { ...entry.status };
  }

  list(): JobStatus[] {
    return [...this.entries.values()].map((e) => ({ ...e.status })).reverse();
  }

  cancel(id: string): JobStatus {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineFailure('not_found', `No job ${id}`);
    if (entry.status.state === 'queued') {
      this.queue.splice(this.queue.indexOf(entry), 1);
      this.finish(entry, 'cancelled', undefined, null);
    } else if (entry.status.state === 'running' && !entry.cancelled) {
      // Once: a second Cancel (a double click, a listener that cancels on every update) changes nothing.
      entry.cancelled = true;
      entry.status.progress = { ...entry.status.progress, message: 'cancelling…' };
      this.emit(entry);
    }
    return { ...entry.status };
  }

  /** Resolves when the job has ended, whatever the outcome. */
  async wait(id: string): Promise<JobStatus> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineFailure('not_found', `No job ${id}`);
    await entry.done;
    return { ...entry.status };
  }

  get busy(): boolean {
    return this.running !== null || this.queue.length > 0;
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const entry = this.queue.shift()!;
    this.running = entry;
    entry.status.state = 'running';
    entry.status.startedAt = Date.now();
    entry.status.progress = { fraction: 0, message: 'starting', rowsPerSecond: null, etaSeconds: null };
    this.emit(entry);
    const heartbeat = setInterval(() => this.emit(entry), HEARTBEAT_MS);
    let lastEmit = 0;
    const ctx: JobContext = {
      id: entry.status.id,
      get cancelled() {
        return entry.cancelled;
      },
      throwIfCancelled() {
        if (entry.cancelled) throw new JobCancelled();
      },
      progress: (update) => {
        const now = Date.now();
        let rowsPerSecond: number | null = null;
        if (update.rows !== undefined) {
          entry.rowsAt.push([now, update.rows]);
          while (entry.rowsAt.length > 2 && now - entry.rowsAt[0]![0] > 5000) entry.rowsAt.shift();
          const [t0, r0] = entry.rowsAt[0]!;
          if (now > t0) rowsPerSecond = ((update.rows - r0) * 1000) / (now - t0);
        }
        const elapsed = (now - entry.status.startedAt) / 1000;
        const eta = update.fraction && update.fraction > 0.01 ? (elapsed * (1 - update.fraction)) / update.fraction : null;
        entry.status.progress = { fraction: update.fraction, message: update.message, rowsPerSecond, etaSeconds: eta };
        if (now - lastEmit >= 200) {
          lastEmit = now;
          this.emit(entry);
        }
      },
    };
    void (async () => {
      try {
        const result = await entry.work(ctx);
        // Work that returned has finished, whatever came in after its last check: a cancel too
        // late to stop it must not be reported as "the workspace is as it was" over work that landed.
        this.finish(entry, 'done', result, null);
      } catch (err) {
        if (entry.cancelled || err instanceof JobCancelled) this.finish(entry, 'cancelled', undefined, null);
        else {
          const code = err instanceof EngineFailure ? err.code : 'internal';
          this.finish(entry, 'failed', undefined, { code, message: (err as Error).message ?? String(err) });
        }
      } finally {
        clearInterval(heartbeat);
        this.running = null;
        this.pump();
      }
    })();
  }

  private finish(entry: Entry, state: JobStatus['state'], result: unknown, error: JobStatus['error']): void {
    entry.status.state = state;
    entry.status.finishedAt = Date.now();
    entry.status.error = error;
    if (result !== undefined) entry.status.result = result;
    entry.status.progress = {
      ...entry.status.progress,
      fraction: state === 'done' ? 1 : entry.status.progress.fraction,
      message: state === 'done' ? 'done' : state === 'cancelled' ? 'cancelled; the workspace is as it was' : error?.message ?? state,
      etaSeconds: null,
    };
    this.emit(entry);
    entry.resolveDone();
    const finished = [...this.entries.values()].filter((e) => e.status.finishedAt !== null);
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.entries.delete(old.status.id);
  }

  private emit(entry: Entry): void {
    const snapshot = { ...entry.status };
    for (const listener of this.listeners) listener(snapshot);
  }
}
