import type { Db } from '../db/workspace.js';

/**
 * What happened to each change: the label change-risk models are judged against, and *when* it
 * became known (an outcome is knowable only once the incident that defines it was detected).
 *
 * DESIGN.md §3: the source's explicit outcome if it has one; else positive when an incident's
 * postmortem names the change; else, if the attribution rule is on, positive when an incident of
 * severity ≤ S with no named cause hit the same service within H hours after it. The rule is off by default once any
 * postmortem links exist, since it would then only add guesses to facts.
 */
export interface AttributionRule {
  enabled: boolean;
  maxSeverity: number;
  windowHours: number;
}

export interface Outcome {
  label: 0 | 1;
  /** epoch ms at which the failure was known; null for negatives and for explicit labels with no date */
  knownAt: number | null;
  source: 'explicit' | 'postmortem' | 'rule' | 'none';
  incident: string | null;
}

export function defaultRule(db: Db): AttributionRule {
  const links = db.prepare('SELECT count(*) FROM incidents WHERE cause_change_id IS NOT NULL').pluck().get() as number;
  return { enabled: links === 0, maxSeverity: 2, windowHours: 6 };
}

// Outcomes with nothing particular to them are shared, not allocated per change (a replay labels
// every change in the workspace). Frozen: nobody may edit one change's outcome through another.
const NONE: Outcome = Object.freeze({ label: 0, knownAt: null, source: 'none', incident: null });
const EXPLICIT: readonly [Outcome, Outcome] = [Object.freeze({ label: 0, knownAt: null, source: 'explicit', incident: null }), Object.freeze({ label: 1, knownAt: null, source: 'explicit', incident: null })];

type Labelled = { id: number; externalId: string; serviceId: number; ts: number; outcome: number | null };

/** @param loaded the workspace's changes, if the caller has them already (as loadChanges returns them) */
export function labelChanges(db: Db, rule: AttributionRule = defaultRule(db), loaded?: readonly Labelled[]): Map<number, Outcome> {
  const changes = loaded
    ?? (db.prepare('SELECT id, external_id AS externalId, service_id AS serviceId, ts, outcome FROM changes ORDER BY ts, id').all() as Labelled[]);
  const labelled = changeLabeler(db, rule)(changes);
  const out = new Map<number, Outcome>();
  for (let i = 0; i < changes.length; i++) out.set(changes[i]!.id, labelled[i]!);
  return out;
}

/**
 * Labels changes a part at a time (a replay labels each slice as it reads it): one change's outcome
 * depends on it and the incidents alone, so labelling in parts gives what labelling all at once does.
 * Outcomes come back in the order of the changes given (a replay needs them only beside the slice,
 * not looked up by id: a map of 100k would outlive it).
 */
export function changeLabeler(db: Db, rule: AttributionRule): (changes: readonly Labelled[]) => Outcome[] {
  // Known from its detection; without one, from the first time that shows someone knew (mitigated,
  // resolved). Its start is the last resort: counting from it would use what nobody knew yet.
  const incidents = db.prepare('SELECT external_id, service_id, severity, started_ts, coalesce(detected_ts, mitigated_ts, resolved_ts, started_ts) AS known, cause_change_id FROM incidents ORDER BY started_ts')
    .all() as Array<{ external_id: string; service_id: number; severity: number; started_ts: number; known: number; cause_change_id: string | null }>;
  // Postmortem links, by the changes they name (few: looked up rather than indexing every change).
  const causes = new Map<string, { known: number; incident: string }>();
  for (const inc of incidents) {
    if (!inc.cause_change_id) continue;
    const prior = causes.get(inc.cause_change_id);
    if (!prior || inc.known < prior.known) causes.set(inc.cause_change_id, { known: inc.known, incident: inc.external_id });
  }
  // Incidents per service, by start time, so the rule looks at its window only. An incident whose
  // postmortem named its cause is explained: the rule guesses only for those nobody explained
  // (it blamed every change shortly before an incident whose cause was already known).
  const byService = new Map<number, typeof incidents>();
  for (const inc of incidents) if (!inc.cause_change_id) (byService.get(inc.service_id) ?? byService.set(inc.service_id, []).get(inc.service_id)!).push(inc);
  return (changes) => {
    const out = new Array<Outcome>(changes.length);
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      if (c.outcome !== null) {
        out[i] = EXPLICIT[c.outcome === 1 ? 1 : 0];
        continue;
      }
      const link = causes.size > 0 ? causes.get(c.externalId) : undefined;
      if (link) {
        out[i] = { label: 1, knownAt: link.known, source: 'postmortem', incident: link.incident };
        continue;
      }
      if (rule.enabled) {
        const until = c.ts + rule.windowHours * 3_600_000;
        const list = byService.get(c.serviceId) ?? [];
        let lo = 0;
        let hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (list[mid]!.started_ts < c.ts) lo = mid + 1;
          else hi = mid;
        }
        let hit: (typeof incidents)[number] | undefined;
        for (let k = lo; k < list.length && list[k]!.started_ts <= until; k++) {
          if (list[k]!.severity <= rule.maxSeverity) {
            hit = list[k];
            break;
          }
        }
        if (hit) {
          out[i] = { label: 1, knownAt: hit.known, source: 'rule', incident: hit.external_id };
          continue;
        }
      }
      out[i] = NONE;
    }
    return out;
  };
}
