import { z } from 'zod';
import { MetricComparison } from './gates.js';

/**
 * Drills (DESIGN.md §7): re-run a change-risk or detection run with faults injected into its inputs
 * and its model, and report what changed, whether the fallback answered, and whether drift was flagged.
 * In a detection drill the "rows" are the time steps each detector scores, and `features` name
 * the telemetry metrics it reads.
 */

const Share = z.number().min(0).max(1);
const Features = z.array(z.string().min(1).max(100)).min(1).max(200);

export const Perturbation = z.discriminatedUnion('kind', [
  /** Feature drift: x → x·scale + shift·σ on a share of rows (σ of the feature over the replayed rows). */
  z.strictObject({ kind: z.literal('drift'), features: Features, shift: z.number().min(-100).max(100).default(0), scale: z.number().min(-100).max(100).default(1), share: Share.default(1) }),
  /** Gaussian noise of sd = sigma·σ added on a share of rows. */
  z.strictObject({ kind: z.literal('noise'), features: Features, sigma: z.number().positive().max(100), share: Share.default(1) }),
  /** Missing values: the features become NaN on a share of rows. */
  z.strictObject({ kind: z.literal('missing'), features: Features, share: Share }),
  /**
   * Stale or gappy telemetry: for the changes in a span covering `share` of the run's time range
   * (starting `at` of the way in), the features are frozen at their last value before the span on
   * the same service, or dropped (NaN).
   */
  z.strictObject({ kind: z.literal('stale'), features: Features, mode: z.enum(['freeze', 'drop']).default('freeze'), share: Share, at: Share.default(0.5) }),
  /** Misclassification: the decision is flipped on a share of rows (the score reflected across the threshold). */
  z.strictObject({ kind: z.literal('flip'), share: Share }),
  /** Added latency on a share of rows: a fixed delay, or a heavy-tailed one (Pareto with this minimum and shape). */
  z.strictObject({ kind: z.literal('latency'), ms: z.number().nonnegative().max(600_000), distribution: z.enum(['fixed', 'pareto']).default('fixed'), alpha: z.number().min(0.5).max(10).default(1.5), share: Share.default(1) }),
  /** The model throws on a share of rows. */
  z.strictObject({ kind: z.literal('failure'), share: Share }),
  /** The model returns garbage on a share of rows: NaN, or a value outside [0, 1]. */
  z.strictObject({ kind: z.literal('garbage'), value: z.enum(['nan', 'out-of-range']).default('nan'), share: Share }),
]);
export type Perturbation = z.infer<typeof Perturbation>;
export type PerturbationInput = z.input<typeof Perturbation>;

/** How a run treats a model that misbehaves: DESIGN.md §7, and any run can use it. */
export const RunGuard = z.strictObject({
  /** Per-inference budget: a row whose latency exceeds it is a timeout, answered by the fallback. */
  timeoutMs: z.number().positive().max(600_000).optional(),
  /** A row with a missing feature: give it to the model as is, impute the model's reference value, or refuse it. */
  nanPolicy: z.enum(['pass', 'impute', 'refuse']).default('pass'),
  /** Scores outside this range (or not finite) are refused as invalid output. */
  outputRange: z.tuple([z.number(), z.number()]).optional(),
});
export type RunGuard = z.infer<typeof RunGuard>;

/** How a run's config records that it is a drill: the faults injected, and the run it re-ran. */
export const DrillMarker = z.object({ name: z.string(), version: z.number().int().nullable(), baseRun: z.number().int(), seed: z.number().int(), perturbations: z.array(Perturbation) });
export type DrillMarker = z.infer<typeof DrillMarker>;

export const DRILL_TASKS = ['change-risk', 'detection'] as const;

export const DRILL_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

// Strict throughout: a misspelt key ("perturbation", "fallbak") would otherwise drill nothing and pass.
export const DrillSpec = z.strictObject({
  name: z.string().regex(DRILL_NAME, 'a drill name is 1-64 letters, digits, spaces, dots, dashes or underscores'),
  description: z.string().max(2000).default(''),
  /** What the base run is: a change-risk run (Runs) or a detection run (Detection). */
  task: z.enum(DRILL_TASKS).default('change-risk'),
  /** The finished run to re-run under faults. */
  baseRun: z.number().int(),
  /** Which of its models to drill; default all of them. */
  models: z.array(z.number().int()).max(20).optional(),
  seed: z.number().int().default(1),
  perturbations: z.array(Perturbation).max(20).default([]),
  runner: z.strictObject({
    timeoutMs: z.number().positive().max(600_000).optional(),
    nanPolicy: z.enum(['pass', 'impute', 'refuse']).default('impute'),
    /** Valid scores; default [0, 1] for change-risk (probabilities), [0, ∞) for detection ("how unusual" scores). */
    outputRange: z.tuple([z.number(), z.number()]).optional(),
    /**
     * Who answers a failed row: a model (id or name; a built-in baseline or a static-threshold
     * detector is the usual choice), the workspace's imported alerts ("static-alerts", detection
     * only), or nobody ("none": no suggestion).
     */
    fallback: z.union([z.literal('none'), z.literal('static-alerts'), z.number().int(), z.string().min(1).max(64)]).default('none'),
  }).default({ nanPolicy: 'impute', fallback: 'none' }),
  /** A saved gate (name) or preset ("advisory", "gating") to judge both runs by. */
  gate: z.string().min(1).max(100).optional(),
});
export type DrillSpec = z.infer<typeof DrillSpec>;
export type DrillSpecInput = z.input<typeof DrillSpec>;

export const SavedDrill = z.object({ name: z.string(), version: z.number().int(), spec: DrillSpec, savedAt: z.number().int(), author: z.string() });
export type SavedDrill = z.infer<typeof SavedDrill>;

export const FeatureDrift = z.object({
  feature: z.string(),
  psi: z.number().nullable(),
  band: z.enum(['stable', 'moderate', 'drift']).nullable(),
  ks: z.number().nullable(),
  ksP: z.number().nullable(),
  /**
   * A history feature's warm-up: how many changes on each side come less than its window after the
   * workspace's first change (their counts are truncated). Null when none do or the feature has no
   * window; runs stored before it lack it.
   */
  warmUp: z.object({ reference: z.number().int(), run: z.number().int(), windowDays: z.number(), historyStart: z.number() }).nullable().optional(),
});

/** Drift of one model's inputs in one run against its reference window. */
export const ModelDrift = z.object({
  modelId: z.number().int(),
  /** where the reference came from: the model's training window or the history before the run */
  reference: z.string(),
  referenceRows: z.number().int(),
  replayedRows: z.number().int(),
  maxPsi: z.number().nullable(),
  /** the feature with the largest PSI */
  worst: z.string().nullable(),
  band: z.enum(['stable', 'moderate', 'drift']).nullable(),
  /** raised when any feature's PSI reaches 0.25 */
  flag: z.boolean(),
  features: z.array(FeatureDrift),
});
export type ModelDrift = z.infer<typeof ModelDrift>;

const Verdict = z.enum(['pass', 'fail', 'inconclusive']);

export const DrillModelReport = z.object({
  model: z.object({ id: z.number().int(), name: z.string(), version: z.number().int() }),
  /** changes (change-risk) or scored time steps (detection) */
  rows: z.number().int(),
  answeredByModel: z.number().int(),
  answeredByFallback: z.number().int(),
  noSuggestion: z.number().int(),
  /** failed rows the fallback answered, over all rows */
  fallbackRate: z.number(),
  /** rows that failed, by what failed: error (the model threw), timeout, invalid-input, invalid-output */
  failures: z.record(z.string(), z.number().int()),
  /** rows a fault reached the output unhandled: a non-finite or out-of-range score stored, or a row lost. Must be 0. */
  unhandled: z.number().int(),
  /** what the drill injected, by perturbation kind: how many rows each touched */
  injected: z.record(z.string(), z.number().int()),
  /** garbage outputs the output validation caught, of those injected */
  garbageCaught: z.number().int(),
  /** rows given garbage output that had already failed before (a model failure, a refused input): no garbage reached their output */
  garbageEarlier: z.number().int().optional(),
  /** rows the drill made return garbage (distinct rows, however many garbage perturbations) */
  garbageRows: z.number().int(),
  /** every row's score and decision identical to the base run's */
  identicalToBase: z.boolean(),
  /** drill − base for each metric, paired over the changes both answered (detection: over the incidents, or the days for false alerts) */
  deltas: z.array(MetricComparison),
  /** changes both runs scored (detection: incidents in the range) */
  paired: z.number().int(),
  drift: z.object({ base: ModelDrift.nullable(), drill: ModelDrift.nullable() }),
  gate: z.object({ name: z.string(), base: Verdict, drill: Verdict, changed: z.boolean(), reasons: z.array(z.string()) }).nullable(),
});
export type DrillModelReport = z.infer<typeof DrillModelReport>;

export const DrillReport = z.object({
  id: z.number().int(),
  task: z.enum(DRILL_TASKS).default('change-risk'),
  drill: z.string(),
  drillVersion: z.number().int().nullable(),
  spec: DrillSpec,
  baseRunId: z.number().int(),
  drillRunId: z.number().int(),
  createdAt: z.number().int(),
  models: z.array(DrillModelReport),
  /** one line per finding, for the CLI and the top of the page */
  summary: z.array(z.string()),
});
export type DrillReport = z.infer<typeof DrillReport>;
