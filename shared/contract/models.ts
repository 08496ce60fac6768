import { z } from 'zod';
import { DrillMarker, ModelDrift, RunGuard } from './drills.js';

/** Model registry and change-risk runs: the records and the manifest a model is added with. */

export const TASKS = ['change-risk', 'detection', 'attribution'] as const;
export const Task = z.enum(TASKS);
export const ModelKind = z.enum(['onnx', 'builtin', 'imported-log']);

const FeatureName = z.string().min(1).max(100);

/** What an ONNX change-risk model needs to be run: DESIGN.md §5. */
/** A model's (or detector's) name: what the registry takes, and what forms check as it is typed. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const ModelManifest = z.object({
  name: z.string().regex(MODEL_NAME, 'a model name is 1-64 letters, digits, dots, dashes or underscores'),
  task: Task.default('change-risk'),
  description: z.string().max(2000).default(''),
  /** Name of the input tensor, shaped [N, features.length]. */
  input: z.string().min(1).max(200),
  /** Feature names in the order the model expects them. */
  features: z.array(FeatureName).min(1).max(1000),
  /** Output holding the score, and which column for [N, 2] probabilities. */
  output: z.string().min(1).max(200),
  column: z.number().int().min(0).max(1).default(1),
  /**
   * For a classifier with class labels other than 0/1 (skl2onnx keeps the training labels, sorted:
   * "buggy", "clean"): the class whose probability is the risk. Sets `column`.
   */
  positiveClass: z.string().min(1).max(200).optional(),
  threshold: z.number().min(0).max(1).default(0.5),
  /** Typical feature values (medians): the reference for explanations and drift. */
  reference: z.record(FeatureName, z.number()).optional(),
  /** Mitigation text keyed by feature, overriding the built-in rules. */
  mitigations: z.record(FeatureName, z.string().max(500)).optional(),
  /** The model saw only changes before this time (epoch ms): evaluate it after. */
  trainedUntil: z.number().int().optional(),
});
export type ModelManifest = z.infer<typeof ModelManifest>;
export type ModelManifestInput = z.input<typeof ModelManifest>;

export const BUILTINS = ['heuristic', 'single-feature', 'logistic'] as const;

export const ModelInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.number().int(),
  task: Task,
  kind: ModelKind,
  builtin: z.enum(BUILTINS).nullable(),
  sha256: z.string(),
  status: z.enum(['active', 'retired']),
  features: z.array(z.string()),
  threshold: z.number(),
  description: z.string(),
  createdAt: z.number().int(),
  /** Notes from validation, e.g. a ZipMap output that was rewritten. */
  notes: z.array(z.string()),
  /** For trained built-ins: they saw only changes before this time. */
  trainedUntil: z.number().int().nullable(),
  /** Governance: the change-risk champion, a challenger, or retired. */
  role: z.enum(['champion', 'challenger', 'retired']).default('challenger'),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

export const ModelEvent = z.object({ id: z.number().int(), modelId: z.number().int(), model: z.string(), role: z.enum(['champion', 'challenger', 'retired']), actor: z.string(), ts: z.number().int(), note: z.string() });
export type ModelEvent = z.infer<typeof ModelEvent>;

export const TrainOptions = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  kind: z.enum(['logistic', 'single-feature', 'heuristic']).default('logistic'),
  features: z.array(FeatureName).min(1).max(200).optional(),
  /** Train on changes before this time (epoch ms); default: the first 70 % of the changes by time. */
  cutoff: z.number().int().optional(),
  C: z.number().positive().max(1e6).default(1),
  log1p: z.boolean().default(true),
  threshold: z.number().min(0).max(1).optional(),
  /** Where people judged a change (feedback), their decision is its label instead of the attributed outcome. */
  useFeedback: z.boolean().default(false),
});
export type TrainOptions = z.infer<typeof TrainOptions>;
export type TrainOptionsInput = z.input<typeof TrainOptions>;

export const AttributionRuleSchema = z.object({
  enabled: z.boolean(),
  maxSeverity: z.number().int().min(0).max(9),
  windowHours: z.number().positive().max(24 * 30),
});

export const RunConfig = z.object({
  task: Task.default('change-risk'),
  models: z.array(z.number().int()).min(1).max(20).refine((ids) => new Set(ids).size === ids.length, { message: 'a model is listed twice; list each once' }),
  from: z.number().int().optional(),
  until: z.number().int().optional(),
  services: z.array(z.string().max(200)).max(1000).optional(),
  /** Per-model threshold override; default: each model's own. */
  thresholds: z.record(z.string(), z.number().min(0).max(1)).optional(),
  attribution: AttributionRuleSchema.optional(),
  /** Model that answers for a row the primary model fails on. */
  fallbackModel: z.number().int().optional(),
  seed: z.number().int().default(20260901),
  batchSize: z.number().int().min(1).max(65536).default(1024),
  costs: z.object({ missedIncident: z.number().nonnegative(), delayedChange: z.number().nonnegative() }).default({ missedIncident: 20, delayedChange: 1 }),
  /** How the run treats a misbehaving model: timeout budget, missing inputs, invalid outputs. */
  guard: RunGuard.optional(),
  /** Set when the run is a drill: the faults injected, and the run it re-ran. */
  drill: DrillMarker.optional(),
});
export type RunConfig = z.infer<typeof RunConfig>;
export type RunConfigInput = z.input<typeof RunConfig>;

export const RunInfo = z.object({
  id: z.number().int(),
  task: Task,
  state: z.enum(['running', 'done', 'failed', 'cancelled', 'interrupted']),
  config: RunConfig,
  manifest: z.object({
    models: z.array(z.object({ id: z.number().int(), name: z.string(), version: z.number().int(), sha256: z.string() })),
    datasetFingerprint: z.string(),
    attribution: AttributionRuleSchema,
    /** How many subjects got their outcome from each source: explicit, postmortem, rule, none. */
    outcomeSources: z.record(z.string(), z.number().int()),
    subjects: z.number().int(),
    seed: z.number().int(),
    codeVersion: z.string(),
    /**
     * Where the run's time went, in ms, on the run's own thread: reading history and outcomes,
     * features, waiting for its models (inference), storing. modelMs: the time the models took
     * scoring, where they ran (an ONNX model on a thread of its own, beside the reading).
     */
    timings: z.object({ loadMs: z.number(), featuresMs: z.number(), inferenceMs: z.number(), storeMs: z.number(), driftMs: z.number().optional(), modelMs: z.number().optional() }).optional(),
    /** Per model: its inputs in this run against its reference window (PSI, KS). */
    drift: z.array(ModelDrift).optional(),
  }).nullable(),
  startedAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type RunInfo = z.infer<typeof RunInfo>;

const Interval = z.object({ value: z.number().nullable(), lo: z.number().nullable(), hi: z.number().nullable() });

export const Scorecard = z.object({
  runId: z.number().int(),
  model: z.object({ id: z.number().int(), name: z.string(), version: z.number().int() }),
  threshold: z.number(),
  n: z.number().int(),
  positives: z.number().int(),
  metrics: z.record(z.string(), Interval),
  confusion: z.object({ tp: z.number(), fp: z.number(), tn: z.number(), fn: z.number() }),
  sweep: z.array(z.object({ threshold: z.number(), precision: z.number().nullable(), recall: z.number().nullable(), fpr: z.number().nullable(), flagged_share: z.number(), expected_cost: z.number() })),
  costOptimalThreshold: z.number().nullable(),
  reliability: z.array(z.object({ bin: z.number().int(), count: z.number(), meanScore: z.number().nullable(), observedRate: z.number().nullable() })),
  operations: z.object({ latency_p50_ms: z.number().nullable(), latency_p99_ms: z.number().nullable(), error_rate: z.number(), fallback_rate: z.number(), max_psi: z.number().nullable() }),
  /** The model's input drift in this run; flag raised at PSI >= 0.25 on any feature. */
  drift: ModelDrift.nullable(),
  attribution: AttributionRuleSchema,
  resamples: z.number().int(),
  /** Changes of the run from before the model's training cutoff (scored on its own training data), when there are any. */
  trainingOverlap: z.object({ trainedUntil: z.number().int(), changes: z.number().int() }).nullable(),
  /** incidents between the first and last scored change with no postmortem cause: their causes count as good changes unless the attribution rule guesses them */
  incidentsWithoutCause: z.number().int().optional(),
  /** rows the model failed on that its fallback answered: left out of the metrics (they carry the fallback's score) */
  answeredByFallback: z.number().int().optional(),
});
export type Scorecard = z.infer<typeof Scorecard>;

export const Contribution = z.object({ feature: z.string(), value: z.number(), contribution: z.number() });

export const Suggestion = z.object({
  runId: z.number().int(),
  modelId: z.number().int(),
  changeId: z.number().int(),
  externalId: z.string(),
  service: z.string(),
  ts: z.number().int(),
  score: z.number().nullable(),
  decision: z.boolean().nullable(),
  latencyMs: z.number().nullable(),
  error: z.string().nullable(),
  fallback: z.boolean(),
  /** what went wrong on this row, or what a drill did to it: error, timeout, invalid-input, invalid-output, imputed, flipped */
  fault: z.string().nullable().default(null),
  outcome: z.object({ label: z.number().int(), source: z.string(), incident: z.string().nullable(), rolledBack: z.boolean().nullable() }),
});
export type Suggestion = z.infer<typeof Suggestion>;

export const Feedback = z.object({
  id: z.number().int(),
  runId: z.number().int(),
  modelId: z.number().int(),
  changeId: z.number().int(),
  verdict: z.enum(['agree', 'disagree', 'override']),
  /** for an override: what the human decided instead */
  decision: z.enum(['hold back', 'let through']).nullable(),
  reason: z.string(),
  author: z.string(),
  ts: z.number().int(),
});
export type Feedback = z.infer<typeof Feedback>;

export const FeedbackInput = z.object({
  runId: z.number().int(), modelId: z.number().int(), changeId: z.number().int(),
  verdict: z.enum(['agree', 'disagree', 'override']),
  decision: z.enum(['hold back', 'let through']).optional(),
  reason: z.string().trim().min(3, 'a reason is required (at least 3 characters)').max(2000),
  author: z.string().trim().min(1).max(200).optional(),
}).refine((f) => (f.verdict === 'override') === (f.decision !== undefined), { message: 'an override needs a decision ("hold back" or "let through"); agree and disagree take none', path: ['decision'] });
export type FeedbackInput = z.input<typeof FeedbackInput>;

export const FeedbackSummary = z.object({
  modelId: z.number().int(),
  count: z.number().int(),
  agree: z.number().int(),
  disagree: z.number().int(),
  override: z.number().int(),
  /** overrides and disagreements over all feedback */
  overrideRate: z.number().nullable(),
  /** share of judgements whose decision (the model's if agreed, the other if not, the override) matched what happened */
  humansRightRate: z.number().nullable(),
  /** share of the model's own decisions on the judged suggestions that matched what happened */
  modelRightRate: z.number().nullable(),
});
export type FeedbackSummary = z.infer<typeof FeedbackSummary>;

export const SuggestionDetail = Suggestion.extend({
  explanation: z.object({
    method: z.enum(['exact-shapley', 'exact-linear', 'sampled-shapley', 'none']), reference: z.number().nullable(), contributions: z.array(Contribution),
    /** what the explanation describes when that is not simply this model's answer (a fallback's, a drill's inputs) */
    note: z.string().optional(),
  }),
  mitigations: z.array(z.object({ feature: z.string(), text: z.string() })),
  feedback: z.array(Feedback).default([]),
});
export type SuggestionDetail = z.infer<typeof SuggestionDetail>;
