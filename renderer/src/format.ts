/** Display helpers; the engine hands out epoch ms and raw numbers. */
export const fmtInt = (n: number): string => n.toLocaleString('en-US');
export const fmtTime = (ms: number | null): string => (ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));
export const fmtBytes = (n: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};
export const fmtDuration = (ms: number): string => {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
};

/** "run 7", or for a drill "run 7 (drill "failures" of run 3)": a drill's numbers are under injected faults and must never pass for the real run's. */
export const runName = (r: { id: number; config: { drill?: { name: string; baseRun: number } | undefined } }): string =>
  r.config.drill ? `run ${r.id} (drill “${r.config.drill.name}” of run ${r.config.drill.baseRun})` : `run ${r.id}`;
