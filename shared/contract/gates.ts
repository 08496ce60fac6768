import { z } from 'zod';

/** Champion/challenger comparisons and promotion gates (DESIGN.md §6). */

const Interval = z.object({ value: z.number().nullable(), lo: z.number().nullable(), hi: z.number().nullable() });

export const MetricComparison = z.object({
  metric: z.string(),
  champion: z.number().nullable(),
  challenger: z.number().nullable(),
  difference: Interval,
  verdict: z.enum(['better', 'worse', 'not enough evidence', 'no preference']),
});

export const Comparison = z.object({
  runId: z.number().int(),
  champion: z.object({ id: z.number().int(), name: z.string(), version: z.number().int(), threshold: z.number() }),
  challenger: z.object({ id: z.number().int(), name: z.string(), version: z.number().int(), threshold: z.number() }),
  /** subjects both models scored, and how many of them caused incidents */
  n: z.number().int(),
  positives: z.number().int(),
  resamples: z.number().int(),
  metrics: z.array(MetricComparison),
  mcnemar: z.object({ championOnlyRight: z.number().int(), challengerOnlyRight: z.number().int(), p: z.number() }),
  /** changes one model would gate and the other not, riskiest disagreements first */
  disagreements: z.array(z.object({
    changeId: z.number().int(), externalId: z.string(), service: z.string(), ts: z.number().int(),
    championScore: z.number(), challengerScore: z.number(), championGates: z.boolean(), challengerGates: z.boolean(),
    outcome: z.enum(['incident', 'rolled back', 'nothing']),
  })),
  disagreementCount: z.number().int(),
  summary: z.string(),
});
export type Comparison = z.infer<typeof Comparison>;

export const GATE_OPS = ['>=', '<=', '>', '<'] as const;

// Strict: an unknown key is a typo ("margn", "vs" misspelt) that would otherwise change what is judged.
export const AbsoluteCriterion = z.strictObject({
  metric: z.string().min(1).max(64),
  op: z.enum(GATE_OPS),
  value: z.number(),
});
/**
 * What a relative criterion compares with: a change-risk model with the champion; a detector with the
 * alerts the team has today (the workspace's imported alerts, scored the same way).
 */
export const GATE_BASELINES = ['champion', 'imported_alerts'] as const;
export const RelativeCriterion = z.strictObject({
  vs: z.enum(GATE_BASELINES),
  metric: z.string().min(1).max(64),
  op: z.enum(['improves', 'not_worse_than']),
  /** in the metric's units: for not_worse_than, how much worse is still acceptable; for improves, by how much it must improve (0: any gain) */
  margin: z.number().nonnegative().default(0),
});
export const GateCriterion = z.union([RelativeCriterion, AbsoluteCriterion]);
export type GateCriterion = z.infer<typeof GateCriterion>;

export const GateSpec = z.strictObject({
  name: z.string().min(1).max(100),
  description: z.string().max(2000).default(''),
  criteria: z.array(GateCriterion).min(1).max(50),
});
export type GateSpec = z.infer<typeof GateSpec>;
export type GateSpecInput = z.input<typeof GateSpec>;

export const CriterionResult = z.object({
  criterion: z.string(),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  reason: z.string(),
  /** what was judged: the figure, or for a relative criterion the difference (challenger − champion, detector − imported alerts), with its 95 % interval; null if unknown */
  observed: Interval.nullable().optional(),
  /** the bound `observed` is held to, in its units: a criterion's value, or for a relative one the margin turned into a limit on the difference */
  bound: z.number().optional(),
  /** which side of `bound` passes: "higher" (the whole interval above it) or "lower" (below it) */
  better: z.enum(['higher', 'lower']).optional(),
});

export const GateResult = z.object({
  gate: z.string(),
  gateVersion: z.number().int().nullable(),
  runId: z.number().int(),
  /** a detection run's id is numbered apart from change-risk runs' */
  task: z.enum(['change-risk', 'detection']).optional(),
  model: z.object({ id: z.number().int(), name: z.string(), version: z.number().int() }),
  champion: z.object({ id: z.number().int(), name: z.string(), version: z.number().int() }).nullable(),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  criteria: z.array(CriterionResult),
});
export type GateResult = z.infer<typeof GateResult>;

export const SavedGate = z.object({ name: z.string(), version: z.number().int(), spec: GateSpec, savedAt: z.number().int() });
export type SavedGate = z.infer<typeof SavedGate>;
