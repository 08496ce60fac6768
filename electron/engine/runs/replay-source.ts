import type { RunConfig } from '../../../shared/contract/models.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { changeReader, checkFeatureNames, featureBuilder, type ChangeRow, type ChangeSlice, type FeatureBuilder, type SliceIds } from '../features/catalog.js';
import type { RowNames } from '../models/scorer.js';
import { changeLabeler, type AttributionRule, type Outcome } from '../features/outcomes.js';
import { runSubjects, type RunSubjects } from './suggestion-writer.js';

/** Which changes a run replays: its time range and services (an unknown service is an error). */
export function subjectFilter(db: Db, config: RunConfig): { services: Set<number> | null; keeps: (c: { ts: number; serviceId: number }) => boolean } {
  const services = config.services && config.services.length > 0
    ? new Set((db.prepare(`SELECT id FROM services WHERE name IN (${config.services.map(() => '?').join(',')})`).pluck().all(...config.services) as number[]))
    : null;
  if (services && services.size !== config.services!.length) {
    const known = new Set(db.prepare('SELECT name FROM services').pluck().all() as string[]);
    const unknown = config.services!.filter((s) => !known.has(s));
    throw new EngineFailure('input_error', `Unknown service${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
  }
  return {
    services,
    keeps: (c) => (config.from === undefined || c.ts >= config.from) && (config.until === undefined || c.ts < config.until) && (!services || services.has(c.serviceId)),
  };
}

export interface ReplaySourceOptions {
  /** changes per read after the first (tests make it small) */
  slice?: number | undefined;
  /** changes in the first read: small, so the first batch reaches the model soon */
  firstSlice?: number | undefined;
  /** time spent reading and labelling changes, and building their features */
  clock?: (key: 'loadMs' | 'featuresMs', since: number) => void;
}

// A slice takes this thread ~20 ms to read and build: less than the model takes over the batches
// queued for it when the next read starts (LOW_WATER in replay-changes.ts).
const SLICE = 8192;
const FIRST_SLICE = 4096;

/** Where one read's subjects got their external ids: its slice, and each subject's row in it. */
interface NamedPart {
  /** the part's first subject's index in the run */
  from: number;
  names: SliceIds;
  /** row in the slice of each of the part's subjects; null when the part is the whole slice */
  rows: Int32Array | null;
}

/**
 * A change-risk run's changes, read a slice at a time in time order while its models score the
 * slices read before: each slice is labelled with what happened to it, added to the history, and
 * the run's subjects in it get their features. A change's features look only strictly before its
 * own time, and its outcome depends on it and the incidents alone, so what is built a slice at a
 * time is what would be built from all the changes at once (test/engine/replay-pipeline.test.ts).
 *
 * Of each subject the run keeps only what it asks for later, as columns (time, service, where its
 * name is); the rows themselves die with their slice. Kept, 100k rows and their attribute objects
 * outlived four or five young-generation collections per replay, each copying them again, on the
 * cores the model scores on.
 */
export class ReplaySource {
  /**
   * The changes before the run's first subject, in time order, and their outcomes: the drift
   * check's reference window and its history (both end at the first subject).
   */
  readonly before: ChangeRow[] = [];
  readonly beforeOutcomes = new Map<number, Outcome>();
  /** how many of the run's subjects are read so far */
  count = 0;
  /** how many of the subjects read so far take their outcome from each source, in order of first appearance */
  readonly outcomeSources: Record<string, number> = {};
  /** how many subjects the run has: the length of every column */
  readonly expected: number;
  private readonly times: Float64Array;
  private readonly services: Int32Array;
  private readonly parts: NamedPart[] = [];
  private firstSubjectTs: number | null = null;
  private readonly columns = new Map<string, Float64Array>();
  private readonly read: (slice: number) => ChangeSlice | null;
  private readonly label: (changes: readonly ChangeRow[]) => Outcome[];
  private readonly builder: FeatureBuilder;
  private readonly keeps: (c: ChangeRow) => boolean;
  private ended = false;
  private checked = false;
  private reads = 0;

  constructor(
    private readonly db: Db,
    private readonly config: RunConfig,
    rule: AttributionRule,
    private readonly features: readonly string[],
    /** each slice's subjects, with their outcomes, before any suggestion for them is written */
    private readonly onSubjects: (part: RunSubjects) => void,
    private readonly options: ReplaySourceOptions = {},
  ) {
    const filter = subjectFilter(db, config);
    this.keeps = filter.keeps;
    this.expected = countSubjects(db, config, filter.services);
    for (const f of features) this.columns.set(f, new Float64Array(this.expected));
    this.times = new Float64Array(this.expected);
    this.services = new Int32Array(this.expected);
    this.read = changeReader(db);
    this.label = changeLabeler(db, rule);
    this.builder = featureBuilder(db, features);
  }

  /** Every subject has been read. */
  get complete(): boolean {
    return this.ended;
  }

  /** A feature's values for subjects 0 … count − 1 (the rest are not built yet). */
  column(name: string): Float64Array {
    return this.columns.get(name)!;
  }

  /** The time and service of each subject read so far, in run order. */
  subjectRows(): { times: Float64Array; services: Int32Array } {
    return { times: this.times.subarray(0, this.count), services: this.services.subarray(0, this.count) };
  }

  /** The time of the run's first subject (null before one is read). */
  get firstTs(): number | null {
    return this.firstSubjectTs;
  }

  /** The external ids of subjects start … start + count − 1, read from their slices when asked for. */
  names(start: number, count: number): RowNames {
    return { length: count, nameOf: (i) => this.nameOf(start + i) };
  }

  private nameOf(subject: number): string {
    // The last part that starts at or before the subject (parts are in run order).
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.parts[mid]!.from <= subject) lo = mid;
      else hi = mid - 1;
    }
    const part = this.parts[lo]!;
    const k = subject - part.from;
    return part.names.at(part.rows ? part.rows[k]! : k);
  }

  /** Reads until at least `rows` subjects are in, or every one is. */
  until(rows: number): void {
    while (this.count < rows && !this.ended) this.readNext();
  }

  /** Reads the next slice of changes (nothing once complete). */
  readNext(): void {
    if (this.ended) return;
    const t0 = performance.now();
    // The first read is small, so the first batch reaches the model soon.
    const slice = this.read(this.reads++ === 0 ? this.options.firstSlice ?? FIRST_SLICE : this.options.slice ?? SLICE);
    const { until } = this.config;
    if (slice === null) {
      this.finish();
      return;
    }
    const { rows } = slice;
    if (!this.checked) {
      // Checked against the first slice, then the workspace: an unknown name fails before any scoring.
      checkFeatureNames(this.db, this.features, (n) => rows.some((c) => Object.hasOwn(c.attributes, n)));
      this.checked = true;
    }
    const outcomes = this.label(rows);
    const picked: number[] = [];
    for (let i = 0; i < rows.length; i++) if (this.keeps(rows[i]!)) picked.push(i);
    const at = this.count;
    if (at + picked.length > this.expected) throw changedUnderneath();
    if (this.firstSubjectTs === null && picked.length > 0) this.firstSubjectTs = rows[picked[0]!]!.ts;
    // Nothing at or after the first subject's time is in the drift check's reference or its history.
    for (let i = 0; i < rows.length; i++) {
      const c = rows[i]!;
      if (this.firstSubjectTs !== null && c.ts >= this.firstSubjectTs) break;
      this.before.push(c);
      this.beforeOutcomes.set(c.id, outcomes[i]!);
    }
    const part = new Array<ChangeRow>(picked.length);
    const partOutcomes = new Array<Outcome>(picked.length);
    for (let k = 0; k < picked.length; k++) {
      const c = rows[picked[k]!]!;
      const o = outcomes[picked[k]!]!;
      part[k] = c;
      partOutcomes[k] = o;
      this.times[at + k] = c.ts;
      this.services[at + k] = c.serviceId;
      this.outcomeSources[o.source] = (this.outcomeSources[o.source] ?? 0) + 1;
    }
    if (picked.length > 0) this.parts.push({ from: at, names: slice.names, rows: picked.length === rows.length ? null : Int32Array.from(picked) });
    this.count += picked.length;
    this.onSubjects(runSubjects(part, partOutcomes));
    this.options.clock?.('loadMs', t0);
    const t1 = performance.now();
    this.builder.add(rows, (i) => outcomes[i]);
    if (part.length > 0) {
      const built = this.builder.columns(part);
      this.features.forEach((f, j) => this.columns.get(f)!.set(built[j]!, at));
    }
    this.options.clock?.('featuresMs', t1);
    // Past the run's end: nothing later is a subject, and no subject's history lies ahead.
    if (until !== undefined && rows[rows.length - 1]!.ts >= until) this.finish();
  }

  /** Reads what is left of the subjects, and checks they are all there. */
  finishReading(): void {
    this.until(this.expected);
    // The changes after the last subject are nobody's history: not read.
    if (!this.ended) this.finish();
  }

  private finish(): void {
    this.ended = true;
    if (!this.checked) checkFeatureNames(this.db, this.features, () => false);
    this.checked = true;
    if (this.count !== this.expected) throw changedUnderneath();
  }
}

const changedUnderneath = (): EngineFailure => new EngineFailure('conflict', 'The workspace\'s changes were added to or removed while the run read them; start the run again');

function countSubjects(db: Db, config: RunConfig, services: Set<number> | null): number {
  const where: string[] = [];
  const params: number[] = [];
  if (config.from !== undefined) {
    where.push('ts >= ?');
    params.push(config.from);
  }
  if (config.until !== undefined) {
    where.push('ts < ?');
    params.push(config.until);
  }
  if (services) where.push(`service_id IN (${[...services].map(() => '?').join(',')})`);
  return db.prepare(`SELECT count(*) FROM changes${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`).pluck().get(...params, ...(services ?? [])) as number;
}
