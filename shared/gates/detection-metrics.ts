import type { DetectionMetrics } from '../detection/evaluate.js';
import type { Interval } from '../metrics/bootstrap.js';

/**
 * The metrics a detection gate can name, with their intervals: a detector's gate and a detection
 * drill's gate read the same names, so one gate file serves both. `mttd_min` is the detector's own
 * time to detect; `time_to_know_min` the earlier of the humans and the alert (the scorecard's
 * "humans with the model"), the figure an on-call team lives by.
 */
export function detectionGateMetrics(card: DetectionMetrics): Record<string, Interval> {
  return {
    incident_recall: card.incident_recall,
    alert_precision: card.alert_precision,
    false_alerts_per_day: card.false_alerts_per_day,
    lead_vs_human_min: card.lead_vs_human_min.median,
    mttd_min: card.mttd_min.model,
    time_to_know_min: card.mttd_min.humans_with_model,
  };
}
