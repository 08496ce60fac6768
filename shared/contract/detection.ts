import { z } from 'zod';
import { MODEL_NAME } from './models.js';
import { DrillMarker, RunGuard } from './drills.js';

/** Detection and attribution: detector specs, detection runs, their scorecards and the incident replay (DESIGN.md §5, §6). */

const Metric = z.string().min(1).max(200);
const Name = z.string().regex(MODEL_NAME, 'a model name is 1-64 letters, digits, dots, dashes or underscores');

/** The alert threshold of a built-in detector when none is given: z units for the statistical ones. */
export const DEFAULT_DETECTOR_THRESHOLD = { static: 1, zscore: 4, ewma: 4, 'week-over-week': 4 } as const;

/**
 * The built-in detectors. Every score at step t uses only points at or before t; baselines use
 * only points before t. Scores are in "how unusual" units (z-like), so one threshold means the
 * same thing on every service.
 */
export const DetectorSpec = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('static'),
    metric: Metric,
    /** fire when the value is above (or below) this for `steps` consecutive steps */
    value: z.number(),
    direction: z.enum(['above', 'below']).default('above'),
    steps: z.number().int().min(1).max(1000).default(3),
  }),
  z.object({
    kind: z.literal('zscore'),
    metrics: z.array(Metric).min(1).max(20),
    /** baseline length in steps (mean and standard deviation of the points before t) */
    window: z.number().int().min(3).max(100_000).default(288),
    direction: z.enum(['up', 'down', 'both']).default('up'),
  }),
  z.object({
    kind: z.literal('ewma'),
    metrics: z.array(Metric).min(1).max(20),
    /** smoothing factor of the mean and variance */
    alpha: z.number().gt(0).lt(1).default(0.02),
    direction: z.enum(['up', 'down', 'both']).default('up'),
  }),
  z.object({
    kind: z.literal('week-over-week'),
    metrics: z.array(Metric).min(1).max(20),
    /** residuals (value − value a week earlier) are standardised over this many steps before t */
    window: z.number().int().min(3).max(100_000).default(288),
    direction: z.enum(['up', 'down', 'both']).default('up'),
  }),
]);
export type DetectorSpec = z.infer<typeof DetectorSpec>;
export type DetectorSpecInput = z.input<typeof DetectorSpec>;

export const AddDetector = z.object({
  name: Name,
  description: z.string().max(2000).default(''),
  spec: DetectorSpec,
  /** alert when the score reaches this (z units for the statistical detectors, 1 for static) */
  threshold: z.number().positive().max(1e6).optional(),
});
export type AddDetectorInput = z.input<typeof AddDetector>;

/** What an ONNX window detector needs to be run: which metrics make its window, how long, how normalised. */
export const WindowManifest = z.object({
  name: Name,
  task: z.literal('detection').default('detection'),
  description: z.string().max(2000).default(''),
  /** Input tensor: [N, length] for one metric, [N, metrics, length] for several (or always, if the model says so). */
  input: z.string().min(1).max(200),
  /** Output holding the score: [N], [N, 1], or [N, k] with `column`. */
  output: z.string().min(1).max(200),
  column: z.number().int().min(0).max(63).optional(),
  window: z.object({
    metrics: z.array(Metric).min(1).max(20),
    /** steps per window; the last step is the one being scored */
    length: z.number().int().min(2).max(4096),
    /** the sampling interval the model was trained on, in seconds; telemetry at another step is refused */
    stepSeconds: z.number().positive().max(86_400).optional(),
    /** applied to each metric's window before inference */
    normalisation: z.enum(['none', 'zscore', 'minmax']).default('zscore'),
  }),
  threshold: z.number().positive().max(1e6).default(0.5),
});
export type WindowManifest = z.infer<typeof WindowManifest>;
export type WindowManifestInput = z.input<typeof WindowManifest>;

export const DetectionRunConfig = z.object({
  models: z.array(z.number().int()).min(1).max(20),
  from: z.number().int().optional(),
  until: z.number().int().optional(),
  services: z.array(z.string().max(200)).max(1000).optional(),
  thresholds: z.record(z.string(), z.number().positive()).optional(),
  /** steps above the threshold closer than this to the previous alert on the service extend it */
  cooldownMinutes: z.number().min(0).max(7 * 24 * 60).default(30),
  /** an alert this long before an incident's start still counts as detecting it */
  earlyToleranceMinutes: z.number().min(0).max(24 * 60).default(15),
  seed: z.number().int().default(20260901),
  /** How the run treats a misbehaving detector: per-step time budget, gaps in its inputs, invalid scores. */
  guard: RunGuard.optional(),
  /**
   * Who answers the steps a detector fails on: another detector (its decision kept, its score put on
   * the failing detector's scale), or the workspace's imported alerts in the failed spans.
   */
  fallback: z.union([z.literal('static-alerts'), z.number().int()]).optional(),
  /** Set when the run is a drill: the faults injected, and the run it re-ran. */
  drill: DrillMarker.optional(),
});
export type DetectionRunConfig = z.infer<typeof DetectionRunConfig>;
export type DetectionRunConfigInput = z.input<typeof DetectionRunConfig>;

export const DetectionRunInfo = z.object({
  id: z.number().int(),
  state: z.enum(['running', 'done', 'failed', 'cancelled', 'interrupted']),
  config: DetectionRunConfig,
  models: z.array(z.object({ id: z.number().int(), name: z.string(), version: z.number().int(), sha256: z.string(), threshold: z.number() })),
  points: z.number().int(),
  from: z.number().int().nullable(),
  until: z.number().int().nullable(),
  startedAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  error: z.string().nullable(),
  /** Each detection input's values in the run's range against the same series before it. */
  drift: z.object({
    maxPsi: z.number().nullable(),
    worst: z.string().nullable(),
    flag: z.boolean(),
    inputs: z.array(z.object({ service: z.string(), metric: z.string(), referencePoints: z.number().int(), psi: z.number().nullable(), band: z.enum(['stable', 'moderate', 'drift']).nullable(), ksP: z.number().nullable() })),
  }).nullable().default(null),
});
export type DetectionRunInfo = z.infer<typeof DetectionRunInfo>;

export const DetectionAlert = z.object({
  modelId: z.number().int().nullable(), // null: the workspace's imported alerts (the incumbent)
  service: z.string(),
  start: z.number().int(),
  end: z.number().int(),
  peakScore: z.number().nullable(),
  /** which signal deviated, by how much, against what baseline */
  explanation: z.string(),
  incident: z.string().nullable(),
});
export type DetectionAlert = z.infer<typeof DetectionAlert>;

const Interval = z.object({ value: z.number().nullable(), lo: z.number().nullable(), hi: z.number().nullable() });

export const DetectionScorecard = z.object({
  /** model id, or null for the imported alerts */
  modelId: z.number().int().nullable(),
  name: z.string(),
  threshold: z.number().nullable(),
  incidents: z.number().int(),
  /** pages: alert episodes per service after the cooldown merge (for the imported alerts too) */
  alerts: z.number().int(),
  /** the imported alerts' rows before that merge; null for a model */
  importedRows: z.number().int().nullable(),
  days: z.number(),
  metrics: z.object({
    incident_recall: Interval,
    alert_precision: Interval,
    false_alerts_per_day: Interval,
    lead_vs_human_min: z.object({ median: Interval, p10: z.number().nullable(), p90: z.number().nullable(), earlier: z.number().int(), same: z.number().int(), later: z.number().int(), missed: z.number().int() }),
    mttd_min: z.object({ model: Interval, humans: Interval, humans_with_model: Interval }),
  }),
  recallBySeverity: z.array(z.object({ severity: z.number().int(), incidents: z.number().int(), recall: z.number().nullable() })),
  /** NAB per profile at the detector's threshold, and at the threshold NAB's sweep finds best */
  nab: z.record(z.string(), z.object({ score: z.number().nullable(), threshold: z.number(), optimised: z.object({ score: z.number().nullable(), threshold: z.number() }) })).nullable(),
  sweep: z.array(z.object({ threshold: z.number(), falseAlertsPerDay: z.number(), recall: z.number().nullable(), medianLeadMin: z.number().nullable() })),
  /** Incidents that began before the detector had the history to score them (they count as missed); null for the imported alerts. */
  warmUp: z.object({
    ms: z.number(), incidents: z.number().int(),
    /** incidents on services with none of the metrics it reads: out of its reach, counted as missed */
    withoutTelemetry: z.number().int().default(0),
  }).nullable(),
});
export type DetectionScorecard = z.infer<typeof DetectionScorecard>;

/** One model against the incumbent alerts on the same incidents: is the difference beyond noise? */
export const DetectionComparison = z.object({
  modelId: z.number().int(),
  /** minutes earlier humans would have known with the detector than with the imported alerts: − the paired difference in time_to_know_min, exactly as a detector gate judges it */
  leadGainMin: Interval,
  recallGain: Interval,
  falseAlertsPerDayDelta: z.number(),
  verdict: z.enum(['earlier', 'later', 'not enough evidence']),
  /**
   * What earlier detection would cost, where it is beyond noise or large: fewer incidents caught
   * (the recall interval wholly below 0), or half as many false alerts again as the incumbent's.
   * An "earlier" with a trade-off is not a plain win.
   */
  tradeOffs: z.array(z.string()).default([]),
  summary: z.string(),
});
export type DetectionComparison = z.infer<typeof DetectionComparison>;

export const DetectionReport = z.object({
  run: DetectionRunInfo,
  scorecards: z.array(DetectionScorecard),
  comparisons: z.array(DetectionComparison),
  /** incidents with no resolution time: matched for a day after they began (said, since it is generous) */
  unresolvedIncidents: z.number().int().default(0),
});
export type DetectionReport = z.infer<typeof DetectionReport>;

export const IncidentDetection = z.object({
  incident: z.string(),
  service: z.string(),
  severity: z.number().int(),
  title: z.string().nullable(),
  started: z.number().int(),
  detectedByHumans: z.number().int().nullable(),
  resolved: z.number().int().nullable(),
  /** per scorecard name: when it would have alerted, and its lead over humans in minutes */
  detections: z.record(z.string(), z.object({ at: z.number().int().nullable(), leadMin: z.number().nullable() })),
});
export type IncidentDetection = z.infer<typeof IncidentDetection>;

export const ATTRIBUTION_BUILTINS = ['recent-on-service', 'largest-change'] as const;

/** What an ONNX ranking model sees for each (incident, candidate change) pair, in the order its manifest lists. */
export const ATTRIBUTION_FEATURES = {
  minutes_before: 'minutes from the change to the incident start',
  same_service: '1 if the change is on the incident’s service',
  depends_on: '1 if the incident’s service calls the change’s service',
  change_size: 'lines added + deleted (0 when unknown)',
  files_changed: 'files changed (0 when unknown)',
  changes_between: 'other changes on the incident’s service between this one and the incident',
} as const;
export type AttributionFeature = keyof typeof ATTRIBUTION_FEATURES;

export const RankerManifest = z.object({
  name: Name,
  task: z.literal('attribution').default('attribution'),
  description: z.string().max(2000).default(''),
  /** Input tensor, [N, features.length]: one row per candidate change. */
  input: z.string().min(1).max(200),
  features: z.array(z.enum(Object.keys(ATTRIBUTION_FEATURES) as [AttributionFeature, ...AttributionFeature[]])).min(1).max(20),
  /** Output with the score (higher = more likely the cause): [N], [N, 1] or [N, k] with `column`. */
  output: z.string().min(1).max(200),
  column: z.number().int().min(0).max(63).optional(),
});
export type RankerManifest = z.infer<typeof RankerManifest>;
export type RankerManifestInput = z.input<typeof RankerManifest>;

export const AttributionConfig = z.object({
  lookbackHours: z.number().positive().max(24 * 30).default(24),
  /** ONNX ranking models (task attribution) that rank candidates as well */
  rankers: z.array(z.number().int()).max(10).optional(),
  /** change-risk models whose scores in this run rank candidates as well */
  riskRun: z.object({ runId: z.number().int(), modelIds: z.array(z.number().int()).max(10) }).optional(),
});
export type AttributionConfigInput = z.input<typeof AttributionConfig>;

export const AttributionResult = z.object({
  lookbackHours: z.number(),
  incidentsWithCause: z.number().int(),
  /** every incident in the workspace, with a known cause or not */
  incidentsTotal: z.number().int(),
  rankers: z.array(z.object({
    name: z.string(),
    /** incidents this ranker is judged on: all with a cause, or for a change-risk model those whose candidates its run scored */
    incidents: z.number().int(),
    top1: Interval,
    top3: Interval,
    mrr: Interval,
    coverage: Interval,
    /** what a reader must know to read the numbers (a subset of incidents, training overlap), or null */
    note: z.string().nullable(),
  })),
  incidents: z.array(z.object({
    incident: z.string(),
    service: z.string(),
    started: z.number().int(),
    cause: z.string().nullable(),
    candidates: z.number().int(),
    /** per ranker: the cause's rank (1 = first), null when it is not among the candidates; absent for a change-risk model whose run did not score every candidate */
    rank: z.record(z.string(), z.number().int().nullable()),
  })),
});
export type AttributionResult = z.infer<typeof AttributionResult>;

/** What the incident replay shows at one cursor time. */
export const ReplayFrame = z.object({
  incident: z.object({ id: z.string(), service: z.string(), severity: z.number().int(), title: z.string().nullable(), started: z.number().int(), detected: z.number().int().nullable(), mitigated: z.number().int().nullable(), resolved: z.number().int().nullable(), cause: z.string().nullable() }),
  cursor: z.number().int(),
  from: z.number().int(),
  until: z.number().int(),
  /** the incident service's metrics, only up to the cursor */
  series: z.array(z.object({ metric: z.string(), points: z.array(z.tuple([z.number(), z.number()])) })),
  /** alerts raised by the cursor, by each model and the incumbent */
  alerts: z.array(DetectionAlert),
  /** candidate changes (before the cursor and within the lookback), ranked per ranker */
  candidates: z.array(z.object({ id: z.string(), service: z.string(), ts: z.number().int(), description: z.string().nullable(), ranks: z.record(z.string(), z.number().int()) })),
  /** what humans did, and when: only what had happened by the cursor */
  humans: z.array(z.object({ ts: z.number().int(), what: z.string() })),
});
export type ReplayFrame = z.infer<typeof ReplayFrame>;
