/**
 * Alerts from per-step scores: runs of steps at or above the threshold, where a run starting
 * within the cooldown of the previous alert's end extends that alert instead of paging again.
 */
export interface AlertSpan {
  startIndex: number;
  endIndex: number;
  peakIndex: number;
}

export function alertsFromScores(times: ArrayLike<number>, scores: ArrayLike<number>, threshold: number, cooldownMs: number, fromIndex = 0): AlertSpan[] {
  const out: AlertSpan[] = [];
  let current: AlertSpan | null = null;
  for (let t = fromIndex; t < scores.length; t++) {
    // Written so NaN (a step nobody scored) never counts as at or above the threshold.
    if (!(scores[t]! >= threshold)) continue;
    if (current && (current.endIndex === t - 1 || times[t]! - times[current.endIndex]! <= cooldownMs)) {
      current.endIndex = t;
      if (scores[t]! > scores[current.peakIndex]!) current.peakIndex = t;
    } else {
      current = { startIndex: t, endIndex: t, peakIndex: t };
      out.push(current);
    }
  }
  return out;
}
