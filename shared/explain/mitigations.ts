/**
 * Mitigations suggested from the signals that pushed a change's risk up (DESIGN.md §5): what an
 * engineer could do instead of (or before) shipping it as is. A model's manifest can override the
 * text per feature.
 */
export interface Mitigation { feature: string; text: string }

const RULES: Array<{ features: RegExp; text: string }> = [
  { features: /^(lines_added|lines_deleted|la|ld|lt|files_changed|nf|nd|ns|entrophy|size)$/, text: 'Large change: roll it out progressively (canary, then 5 % → 25 % → 100 %) and watch error rate and p99 latency at each step.' },
  { features: /^tests_changed$/, text: 'Few or no test changes: add coverage for the changed paths before deploying.' },
  { features: /^(hour_of_day|is_weekend|off_hours)$/, text: 'Off-hours deploy: ship it in business hours, when the owning team is at hand to respond.' },
  { features: /^(service_incidents_30d|service_failed_change_rate_90d)$/, text: 'The service has been unstable lately: ask for an extra reviewer and write the rollback plan before deploying.' },
  { features: /^dependency_bump$/, text: 'Dependency bump: read the upstream changelog and canary it before a full rollout.' },
  { features: /^config_only$/, text: 'Configuration change: stage it behind a flag and validate it on one instance first.' },
  { features: /^(author_changes_90d|exp|rexp|sexp)$/, text: 'The author rarely changes this code: pair with a service owner for the review.' },
  { features: /^(hours_since_prev_change|service_changes_7d)$/, text: 'Stacked on recent changes: let the previous deploy bake before adding this one.' },
  { features: /^service_tier$/, text: 'Tier-1 service: deploy with the on-call engineer aware and a fast rollback ready.' },
];

/** Up to `limit` mitigations for the features that raised the risk most, one per distinct advice. */
export function mitigationsFor(contributions: ReadonlyArray<{ feature: string; contribution: number }>, overrides: Readonly<Record<string, string>> = {}, limit = 3): Mitigation[] {
  const out: Mitigation[] = [];
  const seen = new Set<string>();
  for (const c of [...contributions].filter((c) => c.contribution > 0).sort((a, b) => b.contribution - a.contribution)) {
    const text = overrides[c.feature] ?? RULES.find((r) => r.features.test(c.feature))?.text;
    if (!text || seen.has(text)) continue;
    seen.add(text);
    out.push({ feature: c.feature, text });
    if (out.length === limit) break;
  }
  return out;
}
