import type { Db } from '../db/workspace.js';

/**
 * Storing a run's suggestions. A batch travels as columns (typed arrays and string lists), so it
 * can go to the writer thread (suggestion-worker.ts) without an object per row; what every model's
 * suggestion for a change shares (the change and its real outcome) is sent once per run.
 */

export const OUTCOME_SOURCES = ['explicit', 'postmortem', 'rule', 'none'] as const;

/**
 * The run's subjects, in run order: change k's id, time and what really happened to it. Sent to
 * the writer thread once per run, so kept compact: 100k strings cost ~80 ms to copy across.
 */
export interface RunSubjects {
  changeIds: Float64Array;
  times: Float64Array;
  labels: Int8Array;
  /** index into OUTCOME_SOURCES */
  sources: Uint8Array;
  /** the incident behind a positive outcome, by subject index (most changes have none) */
  incidents: Map<number, string>;
}

export function runSubjects(changes: ReadonlyArray<{ id: number; ts: number }>, outcomeOf: ReadonlyArray<{ label: 0 | 1; source: (typeof OUTCOME_SOURCES)[number]; incident: string | null }>): RunSubjects {
  // Plain loops: TypedArray.from with a mapping function and indexOf per row cost ~70 ms per 100k.
  const n = changes.length;
  const out: RunSubjects = { changeIds: new Float64Array(n), times: new Float64Array(n), labels: new Int8Array(n), sources: new Uint8Array(n), incidents: new Map() };
  const code = new Map<string, number>(OUTCOME_SOURCES.map((s, i) => [s, i]));
  for (let k = 0; k < n; k++) {
    const c = changes[k]!;
    const o = outcomeOf[k]!;
    out.changeIds[k] = c.id;
    out.times[k] = c.ts;
    out.labels[k] = o.label;
    out.sources[k] = code.get(o.source)!;
    if (o.incident !== null) out.incidents.set(k, o.incident);
  }
  return out;
}

/**
 * A run's subjects as they arrive: a replay sends them a part at a time, as it reads the changes,
 * each part before the suggestions that refer to it. Looked up by subject index.
 */
export class SubjectTable {
  changeIds = new Float64Array(0);
  times = new Float64Array(0);
  labels = new Int8Array(0);
  sources = new Uint8Array(0);
  readonly incidents = new Map<number, string>();
  length = 0;

  constructor(first?: RunSubjects) {
    if (first) this.append(first);
  }

  append(part: RunSubjects): void {
    const at = this.length;
    const need = at + part.changeIds.length;
    if (need > this.changeIds.length) {
      // Doubling: a run of 100k subjects in parts of 16k copies each value a few times at most.
      const capacity = Math.max(need, this.changeIds.length * 2);
      const grow = <T extends Float64Array | Int8Array | Uint8Array>(old: T, fresh: T): T => {
        fresh.set(old.subarray(0, at) as never);
        return fresh;
      };
      this.changeIds = grow(this.changeIds, new Float64Array(capacity));
      this.times = grow(this.times, new Float64Array(capacity));
      this.labels = grow(this.labels, new Int8Array(capacity));
      this.sources = grow(this.sources, new Uint8Array(capacity));
    }
    this.changeIds.set(part.changeIds, at);
    this.times.set(part.times, at);
    this.labels.set(part.labels, at);
    this.sources.set(part.sources, at);
    for (const [k, incident] of part.incidents) this.incidents.set(at + k, incident);
    this.length = need;
  }
}

/** One model's suggestions for subjects start … start + scores.length − 1. */
export interface SuggestionBatch {
  modelId: number;
  start: number;
  /** NaN: no score */
  scores: Float64Array;
  /** 1 gate, 0 pass, −1 no score */
  decisions: Int8Array;
  latencies: Float64Array;
  errors: Array<string | null>;
  /** the model that answered instead, 0 if none did */
  fallbackIds: Int32Array;
  /** comma-separated fault kinds, or null */
  faults: Array<string | null>;
}

const COLUMNS = '(run_id, model_id, change_id, replay_ts, score, decision, latency_ms, error, fallback_model_id, label, label_source, incident, fault)';
const WIDTH = 13;
// Rows go in 64 at a time: one statement call per row costs more than the row itself.
const CHUNK = 64;
/**
 * Most rows have no error, fault, fallback answer or incident: a chunk of such rows binds only the
 * nine values that are not NULL, and the statement writes the four NULLs itself. Binding them cost
 * about a third of storing 100k suggestions.
 */
const PLAIN_WIDTH = 9;
const PLAIN_ROW = '(?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, NULL, NULL)';

/** Writes one batch per call, each in its own transaction (so other writers get a turn between them). */
export function suggestionWriter(db: Db, runId: number, subjects: SubjectTable): (batch: WireBatch) => void {
  const row = `(${Array(WIDTH).fill('?').join(', ')})`;
  const insertOne = db.prepare(`INSERT INTO suggestions ${COLUMNS} VALUES ${row}`);
  const insertMany = db.prepare(`INSERT INTO suggestions ${COLUMNS} VALUES ${Array(CHUNK).fill(row).join(', ')}`);
  const insertPlain = db.prepare(`INSERT INTO suggestions ${COLUMNS} VALUES ${Array(CHUNK).fill(PLAIN_ROW).join(', ')}`);
  const many: unknown[] = new Array(CHUNK * WIDTH);
  const plain: unknown[] = new Array(CHUNK * PLAIN_WIDTH);
  const one: unknown[] = new Array(WIDTH);
  /** Rows i … i + CHUNK − 1 of the batch have nothing in the columns a plain row leaves NULL. */
  const isPlain = (b: WireBatch, i: number): boolean => {
    for (let r = i; r < i + CHUNK; r++) {
      if (b.fallbackIds[r] !== 0 || (b.errors !== null && b.errors[r] != null) || (b.faults !== null && b.faults[r] != null)) return false;
      if (subjects.incidents.size > 0 && subjects.incidents.has(b.start + r)) return false;
    }
    return true;
  };
  const putPlain = (b: WireBatch, i: number, out: unknown[], o: number): void => {
    const s = b.start + i;
    const score = b.scores[i]!;
    const decision = b.decisions[i]!;
    out[o] = runId;
    out[o + 1] = b.modelId;
    out[o + 2] = subjects.changeIds[s];
    out[o + 3] = subjects.times[s];
    out[o + 4] = Number.isNaN(score) ? null : score;
    out[o + 5] = decision < 0 ? null : decision;
    out[o + 6] = b.latencies[i];
    out[o + 7] = subjects.labels[s];
    out[o + 8] = OUTCOME_SOURCES[subjects.sources[s]!];
  };
  const put = (b: WireBatch, i: number, out: unknown[], o: number): void => {
    const s = b.start + i;
    const score = b.scores[i]!;
    const decision = b.decisions[i]!;
    out[o] = runId;
    out[o + 1] = b.modelId;
    out[o + 2] = subjects.changeIds[s];
    out[o + 3] = subjects.times[s];
    out[o + 4] = Number.isNaN(score) ? null : score;
    out[o + 5] = decision < 0 ? null : decision;
    out[o + 6] = b.latencies[i];
    out[o + 7] = b.errors === null ? null : b.errors[i] ?? null;
    out[o + 8] = b.fallbackIds[i] === 0 ? null : b.fallbackIds[i];
    out[o + 9] = subjects.labels[s];
    out[o + 10] = OUTCOME_SOURCES[subjects.sources[s]!];
    out[o + 11] = subjects.incidents.get(s) ?? null;
    out[o + 12] = b.faults === null ? null : b.faults[i] ?? null;
  };
  return db.transaction((b: WireBatch) => {
    const n = b.scores.length;
    let i = 0;
    for (; i + CHUNK <= n; i += CHUNK) {
      if (isPlain(b, i)) {
        for (let r = 0; r < CHUNK; r++) putPlain(b, i + r, plain, r * PLAIN_WIDTH);
        insertPlain.run(plain);
      } else {
        for (let r = 0; r < CHUNK; r++) put(b, i + r, many, r * WIDTH);
        insertMany.run(many);
      }
    }
    for (; i < n; i++) {
      put(b, i, one, 0);
      insertOne.run(one);
    }
  });
}

/**
 * A batch as it crosses to the writer thread: a text column with nothing in it (errors and faults,
 * in almost every batch) goes as null instead of 1024 nulls to copy and rebuild.
 */
export type WireBatch = Omit<SuggestionBatch, 'errors' | 'faults'> & { errors: Array<string | null> | null; faults: Array<string | null> | null };

export function wireBatch(b: SuggestionBatch): WireBatch {
  const empty = (column: Array<string | null>): boolean => {
    for (let i = 0; i < column.length; i++) if (column[i] !== null && column[i] !== undefined) return false;
    return true;
  };
  return { ...b, errors: empty(b.errors) ? null : b.errors, faults: empty(b.faults) ? null : b.faults };
}

/** The buffers a batch can hand over to the writer thread instead of copying. */
export function batchTransfers(b: WireBatch): ArrayBuffer[] {
  return [b.scores.buffer, b.decisions.buffer, b.latencies.buffer, b.fallbackIds.buffer] as ArrayBuffer[];
}
