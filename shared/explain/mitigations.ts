/**
 * Mitigations suggested from the signals that pushed a change's risk up (DESIGN.md §5): what an
 * engineer could do instead of (or before) shipping it as is. A model's manifest can override the
 * text per feature.
 *
 * A positive contribution alone is not enough to give advice: tree models are not monotone, and
 * sampled Shapley values put small amounts of noise on every feature, so "large change" once went
 * to a one-line change. Each rule also asks whether the value says what its advice says (larger
 * than the model's reference, off hours, …), and a contribution must be worth acting on.
 */
export interface Mitigation { feature: string; text: string }

/** Below this (one percentage point of risk) a contribution is noise, not a reason to act. */
export const MIN_CONTRIBUTION = 0.01;

type Check = (value: number, reference: number | undefined) => boolean;
const above: Check = (v, ref) => v > (ref ?? 0);
const below: Check = (v, ref) => ref !== undefined && v < ref;
const flag: Check = (v) => v >= 1;

const fmt = (v: number): string => (Number.isInteger(v) ? v : Number(v.toPrecision(3))).toLocaleString('en-US', { maximumFractionDigits: 4 });
/** A span in hours as people say it: minutes under an hour. */
const hours = (h: number): string => (h < 1 ? `${Math.round(h * 60)} min` : `${fmt(h)} h`);
/** "(1,240; typical 45)": the value beside the model's reference, when it has one. */
const versus = (v: number, ref: number | undefined): string => (ref === undefined ? `(${fmt(v)})` : `(${fmt(v)}; typical ${fmt(ref)})`);

/** `advice`: rules with the same advice give it once, from the larger contribution. */
interface Rule { advice: string; features: RegExp; when: Check; text: (feature: string, v: number, ref: number | undefined) => string }

const RULES: Rule[] = [
  { advice: 'size', features: /^(lines_added|lines_deleted|la|ld|lt|files_changed|nf|nd|ns|entrophy|size)$/, when: above, text: (f, v, ref) => `Large change, ${f} ${versus(v, ref)}: roll it out progressively (canary, then 5 % → 25 % → 100 %) and watch error rate and p99 latency at each step.` },
  { advice: 'tests', features: /^tests_changed$/, when: (v, ref) => v === 0 || below(v, ref), text: (_f, v, ref) => `Few or no test changes ${versus(v, ref)}: add coverage for the changed paths before deploying.` },
  // Hours are UTC; 08–18 is a guess at a working day that a team in another zone should override in the manifest.
  { advice: 'hours', features: /^hour_of_day$/, when: (v) => v < 8 || v >= 18, text: (_f, v) => `Off-hours deploy (${String(v).padStart(2, '0')}:00 UTC): ship it in business hours, when the owning team is at hand to respond.` },
  { advice: 'hours', features: /^(is_weekend|off_hours)$/, when: flag, text: () => 'Off-hours deploy: ship it in business hours, when the owning team is at hand to respond.' },
  { advice: 'unstable', features: /^(service_incidents_30d|service_failed_change_rate_90d)$/, when: (v, ref) => v > 0 && above(v, ref), text: (f, v, ref) => `The service has been unstable lately, ${f} ${versus(v, ref)}: ask for an extra reviewer and write the rollback plan before deploying.` },
  { advice: 'dependencies', features: /^dependency_bump$/, when: flag, text: () => 'Dependency bump: read the upstream changelog and canary it before a full rollout.' },
  { advice: 'config', features: /^config_only$/, when: flag, text: () => 'Configuration change: stage it behind a flag and validate it on one instance first.' },
  { advice: 'author', features: /^(author_changes_90d|exp|rexp|sexp)$/, when: below, text: (f, v, ref) => `The author rarely changes this code, ${f} ${versus(v, ref)}: pair with a service owner for the review.` },
  { advice: 'stacked', features: /^hours_since_prev_change$/, when: below, text: (_f, v, ref) => `Stacked on a recent change, ${hours(v)} after the previous one (typical ${ref === undefined ? '—' : hours(ref)}): let it bake before adding this one.` },
  { advice: 'stacked', features: /^service_changes_7d$/, when: above, text: (_f, v, ref) => `Stacked on recent changes ${versus(v, ref)} in 7 days: let the previous deploy bake before adding this one.` },
  { advice: 'tier', features: /^service_tier$/, when: (v) => v <= 1, text: () => 'Tier-1 service: deploy with the on-call engineer aware and a fast rollback ready.' },
];

/**
 * Up to `limit` mitigations for the features that raised the risk most, one per distinct advice.
 * `reference`: the model's reference value per feature (what "typical" means to it).
 */
export function mitigationsFor(contributions: ReadonlyArray<{ feature: string; value: number; contribution: number }>, overrides: Readonly<Record<string, string>> = {}, reference: Readonly<Record<string, number>> = {}, limit = 3): Mitigation[] {
  const out: Mitigation[] = [];
  const seen = new Set<string>();
  for (const c of [...contributions].filter((c) => c.contribution >= MIN_CONTRIBUTION).sort((a, b) => b.contribution - a.contribution)) {
    const ref = reference[c.feature];
    const rule = RULES.find((r) => r.features.test(c.feature));
    // A manifest's own text is the model author's judgement and is given as written.
    const text = overrides[c.feature] ?? (rule && Number.isFinite(c.value) && rule.when(c.value, ref) ? rule.text(c.feature, c.value, ref) : undefined);
    const key = overrides[c.feature] ?? rule?.advice;
    if (!text || !key || seen.has(key)) continue;
    seen.add(key);
    out.push({ feature: c.feature, text });
    if (out.length === limit) break;
  }
  return out;
}

/** A model's reference row (in its feature order) by feature name. */
export function referenceOf(features: readonly string[], reference: readonly number[]): Record<string, number> {
  return Object.fromEntries(features.flatMap((f, i) => (reference[i] === undefined ? [] : [[f, reference[i]!]])));
}
