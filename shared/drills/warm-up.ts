import type { ModelDrift } from '../contract/drills.js';

/**
 * Words for a history feature's warm-up (see FeatureDrift.warmUp): the UI, the CLI and reports say
 * it the same way. Only features that moved are worth the words; a stable one needs no excuse.
 */

const share = (part: number, whole: number): string => (whole === 0 ? '0 %' : `${Math.round((100 * part) / whole)} %`);

/** The features whose shift is partly warm-up, each with how much of each side is in it; null if none. */
export function warmUpSummary(drift: ModelDrift): string | null {
  const moved = drift.features.filter((f) => f.warmUp && f.band !== null && f.band !== 'stable');
  if (moved.length === 0) return null;
  const start = new Date(moved[0]!.warmUp!.historyStart).toISOString().slice(0, 10);
  const parts = moved.map((f) => `${f.feature} (${f.warmUp!.windowDays}-day window: ${share(f.warmUp!.reference, drift.referenceRows)} of the reference, ${share(f.warmUp!.run, drift.replayedRows)} of the run)`);
  return `Partly history warm-up — changes less than a window after the first one (${start}) have truncated counts: ${parts.join(', ')}. `
    + 'Part of the shift is the history filling up; the model sees it all the same.';
}
