import type { JobStatus } from '../../../shared/contract/records.js';
import { fmtInt } from '../format.js';
import { DEMO_STARTING, useStore } from '../store.js';

export function ProgressBar({ fraction, label }: { fraction: number | null; label: string }) {
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}>
      <div className={`progress-fill${fraction === null ? ' indeterminate' : ''}`} style={{ width: `${Math.round((fraction ?? 0.3) * 100)}%` }} />
    </div>
  );
}

export function JobProgress({ job }: { job: JobStatus }) {
  const cancelJob = useStore((s) => s.cancelJob);
  const running = job.state === 'running' || job.state === 'queued';
  const p = job.progress;
  return (
    <div className="job" data-job-state={job.state} role="status" aria-live="polite" aria-atomic="false">
      <div className="job-head">
        <span className="job-label">{job.label}</span>
        {running && <button type="button" className="link" onClick={() => void cancelJob(job.id)}>Cancel</button>}
      </div>
      <ProgressBar fraction={job.state === 'done' ? 1 : p.fraction} label={job.label} />
      <div className="job-meta">
        <span>{p.message}</span>
        {running && p.rowsPerSecond !== null && <span>{fmtInt(Math.round(p.rowsPerSecond))} rows/s</span>}
        {running && p.etaSeconds !== null && <span>~{Math.ceil(p.etaSeconds)} s left</span>}
      </div>
    </div>
  );
}

/** Running jobs, wherever the user is. */
export function JobTray() {
  // Select the stable map and filter here: a selector that builds a new array every time makes
  // zustand re-render forever.
  const all = useStore((s) => s.jobs);
  // The job the current page already shows with its own bar is not shown twice.
  const inline = useStore((s) => ({ home: s.demoJobId, data: s.importJobId, runs: s.runJobId, models: s.retrainJobId, compare: s.reportJobId, detection: s.detectionJobId } as Record<string, string | null>)[s.page] ?? null);
  const jobs = Object.values(all).filter((j) => (j.state === 'running' || j.state === 'queued') && j.id !== inline && !(inline === DEMO_STARTING && j.kind === 'demo'));
  if (jobs.length === 0) return null;
  return (
    <aside className="job-tray" aria-label="Running jobs" role="status" aria-live="polite">
      {jobs.map((j) => <JobProgress key={j.id} job={j} />)}
    </aside>
  );
}
