/**
 * Why a run cannot be judged, or null when it has finished: "Run 4 is failed (the model threw on
 * every row); a report needs a finished run". One sentence everywhere (engine and CLI), so a failed
 * run is named as failed with its reason, never as an empty one.
 */
export function unfinishedReason(run: { id: number; state: string; error?: string | null | undefined }, needs: string, task: 'change-risk' | 'detection' = 'change-risk'): string | null {
  if (run.state === 'done') return null;
  const why = run.error && run.error !== run.state ? ` (${run.error})` : '';
  return `${task === 'detection' ? 'Detection run' : 'Run'} ${run.id} is ${run.state}${why}; ${needs}`;
}
