/**
 * The rules that make an alert a detection or a false alert, in words: recall and false alerts
 * per day cannot be judged without them, so every detection scorecard states them.
 */
export function matchingRules(config: { earlyToleranceMinutes: number; cooldownMinutes: number }): string {
  return `An alert detects an incident on its service if it starts from ${config.earlyToleranceMinutes} min before the incident began until it was resolved (a day after it began, if it never was); any other alert is a false one. Alerts within ${config.cooldownMinutes} min of the previous one's end on a service are one page (the imported alerts too).`;
}
