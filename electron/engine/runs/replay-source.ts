import type { RunConfig } from '../../../shared/contract/models.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { changeReader, checkFeatureNames, featureBuilder, type ChangeRow, type FeatureBuilder } from '../features/catalog.js';
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

/**
 * A change-risk run's changes, read a slice at a time in time order while its models score the
 * slices read before: each slice is labelled with what happened to it, added to the history, and
 * the run's subjects in it get their features. A change's features look only strictly before its
 * own time, and its outcome depends on it and the incidents alone, so what is built a slice at a
 * time is what would be built from all the changes at once (test/engine/replay-pipeline.test.ts).
 * Holding every change read is still needed: the drift check compares against the history.
 */
export class ReplaySource {
  /** every change read so far, in time order */
  readonly all: ChangeRow[] = [];
  /** the run's subjects read so far, in run (time) order */
  readonly subjects: ChangeRow[] = [];
  readonly outcomes = new Map<number, Outcome>();
  /** how many of the subjects read so far take their outcome from each source, in order of first appearance */
  readonly outcomeSources: Record<string, number> = {};
  /** how many subjects the run has: the length of every column */
  readonly expected: number;
  private readonly columns = new Map<string, Float64Array>();
  private readonly read: (slice: number) => ChangeRow[] | null;
  private readonly label: (changes: readonly ChangeRow[], out: Map<number, Outcome>) => void;
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
    this.read = changeReader(db);
    this.label = changeLabeler(db, rule);
    this.builder = featureBuilder(db, features, this.outcomes);
  }

  /** Every subject has been read. */
  get complete(): boolean {
    return this.ended;
  }

  /** A feature's values for subjects 0 … subjects.length − 1 (the rest are not built yet). */
  column(name: string): Float64Array {
    return this.columns.get(name)!;
  }

  /** Reads until at least `rows` subjects are in, or every one is. */
  until(rows: number): void {
    while (this.subjects.length < rows && !this.ended) this.readNext();
  }

  /** Reads the next slice of changes (nothing once complete). */
  readNext(): void {
    if (this.ended) return;
    const t0 = performance.now();
    // The first read is small, so the first batch reaches the model soon.
    const rows = this.read(this.reads++ === 0 ? this.options.firstSlice ?? FIRST_SLICE : this.options.slice ?? SLICE);
    const { until } = this.config;
    if (rows === null) {
      this.finish();
      return;
    }
    if (!this.checked) {
      // Checked against the first slice, then the workspace: an unknown name fails before any scoring.
      checkFeatureNames(this.db, this.features, (n) => rows.some((c) => Object.hasOwn(c.attributes, n)));
      this.checked = true;
    }
    for (const c of rows) this.all.push(c);
    this.label(rows, this.outcomes);
    const part = rows.filter(this.keeps);
    const at = this.subjects.length;
    if (at + part.length > this.expected) throw changedUnderneath();
    for (const c of part) this.subjects.push(c);
    const outcomes = part.map((c) => this.outcomes.get(c.id)!);
    for (const o of outcomes) this.outcomeSources[o.source] = (this.outcomeSources[o.source] ?? 0) + 1;
    this.onSubjects(runSubjects(part, outcomes));
    this.options.clock?.('loadMs', t0);
    const t1 = performance.now();
    this.builder.add(rows);
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
    if (this.subjects.length !== this.expected) throw changedUnderneath();
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
