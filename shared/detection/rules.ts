/**
 * The rules that make an alert a detection or a false alert, in words: recall and false alerts
 * per day cannot be judged without them, so every detection scorecard states them.
 */
export function matchingRules(config: { earlyToleranceMinutes: number; cooldownMinutes: number }): string {
  return `An alert detects an incident on its service if it starts from ${config.earlyToleranceMinutes} min before the incident began until it was resolved (a day after it began, if it never was); any other alert is a false one. Alerts within ${config.cooldownMinutes} min of the previous one's end on a service are one page (the imported alerts too).`;
}

/** How the NAB columns differ from the matching above, so the two are not read as one rule. */
export const NAB_RULES = 'NAB scores follow NAB\'s own rules, not the matching above: each incident\'s window is its start to its resolution (an hour if unresolved) with no early tolerance, an alert before a window counts against the detector, and the first 15 % of each service\'s steps (at most 750) is probation and not scored.';

/** Incidents without a resolution time, and the window they were given instead. */
export function unresolvedSentence(count: number): string | null {
  return count === 0 ? null : `${count} incident${count === 1 ? ' has' : 's have'} no resolution time: ${count === 1 ? 'it is' : 'they are'} matched for a day after ${count === 1 ? 'it' : 'they'} began, which credits alerts up to 24 h late (import resolved times to judge them on their real window).`;
}
