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

/**
 * Alerts another system raised (start, and end where it says when it resolved), merged by the
 * rule the detectors' alerts follow: per service, one starting within the cooldown of the
 * previous one's end extends it instead of paging again. Without this, an error-rate and a
 * latency alert firing together counted twice where a detector reading both metrics pages once.
 */
export function mergeAlerts<T extends { service: string; start: number; end: number | null }>(alerts: readonly T[], cooldownMs: number): T[] {
  const last = new Map<string, { alert: T; end: number }>();
  const out: T[] = [];
  for (const a of [...alerts].sort((x, y) => x.start - y.start)) {
    const end = Math.max(a.start, a.end ?? a.start);
    const open = last.get(a.service);
    if (open && a.start - open.end <= cooldownMs) {
      open.end = Math.max(open.end, end);
      open.alert.end = open.end;
      continue;
    }
    const alert = { ...a };
    out.push(alert);
    last.set(a.service, { alert, end });
  }
  return out;
}
