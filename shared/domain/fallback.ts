/**
 * Rows a model failed on and its fallback answered carry the fallback's score, on the fallback's
 * scale and threshold. A scorecard judges the model on the rows it answered itself, so a model that
 * fails on its hardest changes is not credited with its fallback's catches; those rows count in
 * fallback_rate instead. Said wherever the numbers are shown, in one wording.
 */
export function fallbackSentence(rows: number): string | null {
  if (rows === 0) return null;
  return `${rows.toLocaleString('en-US')} change${rows === 1 ? '' : 's'} this model failed on ${rows === 1 ? 'was' : 'were'} answered by the fallback and ${rows === 1 ? 'is' : 'are'} left out of these metrics (see fallback_rate).`;
}
