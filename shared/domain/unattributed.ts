/**
 * Incidents nobody named a cause for. With the attribution rule off (the default once any
 * postmortem links exist), the change that caused each of them counts as a good change, so a
 * scorecard's failures are a lower bound: on the demo, 17 of the period's unlinked incidents were
 * change-caused, and risk-lr's AUC was 0.759 against the true labels, not the 0.773 shown. Said
 * wherever the numbers are shown, in one wording.
 */
export function unattributedSentence(incidents: number, ruleOn: boolean): string | null {
  if (incidents === 0) return null;
  const what = `${incidents} incident${incidents === 1 ? '' : 's'} in this period ${incidents === 1 ? 'has' : 'have'} no postmortem cause`;
  return ruleOn
    ? `${what}: the attribution rule guesses one where a change shortly before on the same service fits; the others count no change as failed.`
    : `${what}: whichever changes caused ${incidents === 1 ? 'it count' : 'them count'} as good here, so the failures these numbers are measured against are incomplete (turn on the attribution rule to guess them).`;
}
