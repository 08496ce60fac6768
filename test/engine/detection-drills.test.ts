import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli.js';
import { createEngine, type Engine } from '../../electron/engine/engine.js';
import { FAILED, STEP_FAULT } from '../../electron/engine/detection/guard.js';
import type { DetectionRunInfo } from '../../shared/contract/detection.js';
import type { DrillReport, DrillSpecInput } from '../../shared/contract/drills.js';
import { cli } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/workspace.js';

/**
 * Drills of detection runs on the demo workspace: the z-score and static error-rate detectors run
 * over the second half of the telemetry (so the first half is each input's reference), then re-run
 * with faults in the telemetry they read and in their scores.
 */

let engine: Engine;
let workspace: string;
let dir: string;
let baseRun: number;
let zscore: number;
let staticRule: number;

async function drill(spec: Omit<DrillSpecInput, 'baseRun'> & { baseRun?: number }): Promise<DrillReport> {
  const { jobId } = await engine.call('drills.start', { spec: { task: 'detection', baseRun, models: [zscore, staticRule], ...spec } });
  const job = await engine.jobs.wait(jobId);
  if (job.state !== 'done') throw new Error(`drill ${job.state}: ${job.error?.message}`);
  return job.result as DrillReport;
}

const forModel = (r: DrillReport, id: number) => r.models.find((m) => m.model.id === id)!;

interface Chunk { service_id: number; times: Buffer; scores: Buffer; faults: Buffer | null }

/** A run's stored steps for one detector, read straight from the workspace file. */
function stored(runId: number, modelId: number): { scores: Float32Array; faults: Uint8Array | null; perService: Map<number, number> } {
  const db = new Database(workspace, { readonly: true });
  try {
    const rows = db.prepare('SELECT service_id, times, scores, faults FROM detection_scores WHERE run_id = ? AND model_id = ? ORDER BY service_id, from_ts').all(runId, modelId) as Chunk[];
    const scores = rows.flatMap((r) => Array.from(new Float32Array(r.scores.buffer.slice(r.scores.byteOffset, r.scores.byteOffset + r.scores.byteLength))));
    const faults = rows.every((r) => r.faults) ? Uint8Array.from(rows.flatMap((r) => Array.from(r.faults!))) : null;
    const perService = new Map<number, number>();
    for (const r of rows) perService.set(r.service_id, (perService.get(r.service_id) ?? 0) + r.scores.byteLength / 4);
    return { scores: Float32Array.from(scores), faults, perService };
  } finally {
    db.close();
  }
}

function alerts(runId: number, modelId: number): { start_ts: number; explanation: string; service_id: number }[] {
  const db = new Database(workspace, { readonly: true });
  try {
    return db.prepare('SELECT service_id, start_ts, explanation FROM detection_alerts WHERE run_id = ? AND model_id = ? ORDER BY service_id, start_ts').all(runId, modelId) as { start_ts: number; explanation: string; service_id: number }[];
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  dir = tempDir();
  workspace = path.join(dir, 'demo.sbw');
  const quiet = { out: () => undefined, err: () => undefined, isTTY: false };
  expect(await runCli(['demo', '--workspace', workspace], quiet)).toBe(0);
  engine = createEngine({ workspacesDir: path.join(dir, 'workspaces'), actor: 'drill-test' });
  await engine.call('workspace.openPath', { path: workspace });
  const models = await engine.call('models.list', {});
  zscore = models.find((m) => m.name === 'zscore-1d')!.id;
  staticRule = models.find((m) => m.name === 'static-error-rate')!.id;
  const db = new Database(workspace, { readonly: true });
  const { lo, hi } = db.prepare('SELECT min(ts) AS lo, max(ts) AS hi FROM points').get() as { lo: number; hi: number };
  db.close();
  const { jobId } = await engine.call('detection.start', { models: [zscore, staticRule], from: Math.round((lo + hi) / 2) });
  baseRun = ((await engine.jobs.wait(jobId)).result as DetectionRunInfo).id;
}, 180_000);

describe('drills of detection runs on the demo workspace', () => {
  it('a no-op drill reproduces the base run exactly: every score, every alert', async () => {
    const r = await drill({ name: 'no-op' });
    expect(r.task).toBe('detection');
    for (const m of r.models) {
      expect(m.identicalToBase).toBe(true);
      expect(m.unhandled).toBe(0);
      expect(m.answeredByModel).toBe(m.rows);
      for (const d of m.deltas) expect(d.difference.value).toBe(0);
    }
    for (const id of [zscore, staticRule]) {
      expect(Array.from(stored(r.drillRunId, id).scores)).toEqual(Array.from(stored(baseRun, id).scores));
      expect(alerts(r.drillRunId, id).map((a) => [a.service_id, a.start_ts])).toEqual(alerts(baseRun, id).map((a) => [a.service_id, a.start_ts]));
    }
  });

  it('20 % detector failures: every failed step answered by the imported alerts, none unhandled, each stand-in alert a real imported one', async () => {
    const r = await drill({ name: 'failures', perturbations: [{ kind: 'failure', share: 0.2 }], runner: { fallback: 'static-alerts' } });
    const m = forModel(r, zscore);
    const s = stored(r.drillRunId, zscore);
    // Exactly round(0.2 · n) steps of each service.
    const expected = [...s.perService.values()].reduce((a, n) => a + Math.round(0.2 * n), 0);
    expect(m.failures).toEqual({ error: expected });
    expect(m.injected.failure).toBe(expected);
    expect(m.answeredByFallback).toBe(expected);
    expect(m.noSuggestion).toBe(0);
    expect(m.unhandled).toBe(0);
    expect(m.fallbackRate).toBeCloseTo(0.2, 2);
    expect(s.faults!.filter((f) => (f & STEP_FAULT.error) !== 0).length).toBe(expected);
    const standIns = alerts(r.drillRunId, zscore).filter((a) => a.explanation.startsWith('answered by the imported alerts'));
    expect(standIns.length).toBeGreaterThan(0);
    const db = new Database(workspace, { readonly: true });
    const imported = new Set((db.prepare('SELECT service_id || \':\' || ts FROM alerts').pluck().all() as string[]));
    db.close();
    for (const a of standIns) expect(imported.has(`${a.service_id}:${a.start_ts}`)).toBe(true);
    expect(r.summary.some((l) => l.includes(`${expected} of ${m.rows} steps failed; the fallback answered ${expected}`))).toBe(true);
  });

  it('failures answered by another detector keep its decision (its score on the failing detector\'s scale)', async () => {
    const r = await drill({ name: 'detector fallback', models: [zscore], perturbations: [{ kind: 'failure', share: 0.3 }], runner: { fallback: 'static-error-rate' } });
    const m = forModel(r, zscore);
    expect(m.answeredByFallback).toBe(m.failures.error);
    expect(m.unhandled).toBe(0);
    const s = stored(r.drillRunId, zscore);
    const fb = stored(baseRun, staticRule);
    const threshold = 6; // zscore-1d's; the static rule's is 1
    let checked = 0;
    s.faults!.forEach((f, k) => {
      if (!(f & STEP_FAULT.fallback)) return;
      // Same service order and steps in both runs: the rule fires exactly where the stand-in score reaches the threshold.
      expect(s.scores[k]! >= threshold).toBe(fb.scores[k]! >= 1);
      checked++;
    });
    expect(checked).toBe(m.failures.error);
    expect(alerts(r.drillRunId, zscore).some((a) => a.explanation.startsWith('answered by the fallback static-error-rate v1'))).toBe(true);
  });

  it('garbage scores (NaN and out of range) are all caught by output validation; nothing invalid is stored as a score', async () => {
    const r = await drill({ name: 'garbage', perturbations: [{ kind: 'garbage', value: 'out-of-range', share: 0.1 }, { kind: 'garbage', value: 'nan', share: 0.05 }] });
    for (const m of r.models) {
      expect(m.garbageRows).toBeGreaterThan(0);
      expect(m.garbageCaught).toBe(m.garbageRows);
      expect(m.failures['invalid-output']).toBe(m.garbageRows);
      expect(m.noSuggestion).toBe(m.garbageRows);
      expect(m.unhandled).toBe(0);
      const s = stored(r.drillRunId, m.model.id);
      s.scores.forEach((v, k) => {
        const f = s.faults![k]!;
        if (f & STEP_FAULT['no-answer']) expect(Number.isNaN(v)).toBe(true);
        else expect(Number.isFinite(v) && v >= 0).toBe(true);
      });
    }
  });

  it('a 3σ shift on 30 % of a detector input\'s steps raises the drift flag on it and moves the metrics', async () => {
    const r = await drill({ name: 'shift', models: [zscore], perturbations: [{ kind: 'drift', features: ['latency_p99_ms'], shift: 3, share: 0.3 }] });
    const m = forModel(r, zscore);
    expect(m.drift.drill!.flag).toBe(true);
    const base = new Map(m.drift.base!.features.map((f) => [f.feature, f]));
    const moved = m.drift.drill!.features.filter((f) => f.feature.endsWith('/latency_p99_ms'));
    expect(moved.length).toBeGreaterThan(0);
    for (const f of moved) {
      expect(f.band).toBe('drift');
      expect(base.get(f.feature)!.band).not.toBe('drift');
    }
    // error_rate_pct was not touched: its PSI is the base run's.
    for (const f of m.drift.drill!.features.filter((x) => x.feature.endsWith('/error_rate_pct'))) expect(f.psi).toBe(base.get(f.feature)!.psi);
    expect(m.deltas.some((d) => d.verdict === 'better' || d.verdict === 'worse')).toBe(true);
    expect(m.unhandled).toBe(0);
    expect(r.summary.some((l) => l.includes('drift flag RAISED') && l.includes('newly drifting'))).toBe(true);
  });

  it('stale telemetry: a dropped span is refused as invalid input and answered, or passed to the detector as a gap', async () => {
    const stale = { kind: 'stale' as const, features: ['error_rate_pct'], mode: 'drop' as const, share: 0.25, at: 0.5 };
    const refused = await drill({ name: 'stale refuse', models: [staticRule], perturbations: [stale], runner: { nanPolicy: 'refuse', fallback: 'static-alerts' } });
    const m = forModel(refused, staticRule);
    expect(m.injected.stale).toBeGreaterThan(0);
    expect(m.failures['invalid-input']).toBe(m.injected.stale);
    expect(m.answeredByFallback).toBe(m.injected.stale);
    expect(m.unhandled).toBe(0);
    const passed = await drill({ name: 'stale pass', models: [staticRule], perturbations: [stale], runner: { nanPolicy: 'pass' } });
    const p = forModel(passed, staticRule);
    expect(p.failures).toEqual({});
    expect(p.answeredByModel).toBe(p.rows);
    // Blind for a quarter of the range: it cannot alert more, and it alerts less.
    expect(alerts(passed.drillRunId, staticRule).length).toBeLessThan(alerts(baseRun, staticRule).length);
    const frozen = await drill({ name: 'stale freeze', models: [staticRule], perturbations: [{ ...stale, mode: 'freeze' }] });
    expect(forModel(frozen, staticRule).failures).toEqual({});
  });

  it('flips, timeouts and a saved gate over detection metrics whose verdict the drill changes', async () => {
    await engine.call('gates.save', { spec: { name: 'pager', criteria: [{ metric: 'incident_recall', op: '>=', value: 0.5 }, { metric: 'fallback_rate', op: '<=', value: 0.05 }] } });
    const r = await drill({
      name: 'flip and slow', models: [zscore], gate: 'pager',
      perturbations: [{ kind: 'flip', share: 0.1 }, { kind: 'latency', ms: 500, share: 0.1 }], runner: { timeoutMs: 200, fallback: 'static-alerts' },
    });
    const m = forModel(r, zscore);
    const s = stored(r.drillRunId, zscore);
    const perService = [...s.perService.values()];
    expect(m.failures.timeout).toBe(perService.reduce((a, n) => a + Math.round(0.1 * n), 0));
    const flipped = s.faults!.filter((f) => (f & STEP_FAULT.flipped) !== 0 && !(f & FAILED)).length;
    expect(flipped).toBeGreaterThan(0);
    expect(m.unhandled).toBe(0);
    expect(m.gate!.base).toBe('pass');
    expect(m.gate!.drill).toBe('fail');
    expect(m.gate!.changed).toBe(true);
    expect(m.gate!.reasons.join(' ')).toContain('fallback_rate');
  });

  it('a cancelled drill leaves no result and no half-written scores behind', async () => {
    const before = (await engine.call('drills.results', {})).length;
    const { jobId } = await engine.call('drills.start', { spec: { name: 'cancelled', task: 'detection', baseRun, models: [zscore, staticRule], perturbations: [{ kind: 'failure', share: 0.5 }] } });
    // Cancel once the drill's run is under way (it has written its record and started on the services).
    for (let status = await engine.call('jobs.get', { jobId }); !(status.progress?.message ?? '').startsWith('drill run: '); status = await engine.call('jobs.get', { jobId })) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await engine.call('jobs.cancel', { jobId });
    const job = await engine.jobs.wait(jobId);
    expect(job.state).toBe('cancelled');
    expect((await engine.call('drills.results', {})).length).toBe(before);
    const db = new Database(workspace, { readonly: true });
    const runs = db.prepare("SELECT id, state FROM detection_runs WHERE config LIKE '%\"cancelled\"%'").all() as { id: number; state: string }[];
    expect(runs.length).toBe(1);
    for (const r of runs) {
      expect(r.state).toBe('cancelled');
      expect(db.prepare('SELECT count(*) FROM detection_scores WHERE run_id = ?').pluck().get(r.id)).toBe(0);
      expect(db.prepare('SELECT count(*) FROM detection_alerts WHERE run_id = ?').pluck().get(r.id)).toBe(0);
    }
    db.close();
  });

  it('refuses wrong specs before running, naming what is wrong', async () => {
    const start = (spec: object) => engine.call('drills.start', { spec: { name: 'bad', task: 'detection', baseRun, ...spec } });
    await expect(start({ perturbations: [{ kind: 'drift', features: ['cpu'], shift: 1 }] })).rejects.toThrow('perturbations.0 (drift): no drilled detector reads cpu; the metrics they read: ');
    await expect(start({ gate: 'gating' })).rejects.toThrow('judges change-risk scorecards');
    // A gate written for gate --detection-run that names what a drill cannot judge: refused before any run.
    const runsBefore = (await engine.call('detection.runs', {})).length;
    await engine.call('gates.save', { spec: { name: 'with nab', criteria: [{ metric: 'incident_recall', op: '>=', value: 0.5 }, { metric: 'nab_standard', op: '>=', value: 40 }] } });
    await expect(start({ gate: 'with nab' })).rejects.toThrow(/"nab_standard" is not a metric of this scorecard .*NAB scores and recall by severity are for gate --detection-run/);
    expect((await engine.call('detection.runs', {})).length).toBe(runsBefore);
    await expect(start({ runner: { fallback: 'no-such-detector' } })).rejects.toThrow('"no-such-detector" is not an active detector');
    await expect(start({ baseRun: 9999 })).rejects.toThrow('No detection run with id 9999');
    await expect(start({ models: [zscore, staticRule], runner: { fallback: 'static-error-rate' } })).rejects.toThrow('static-error-rate v1 is the fallback and cannot also be drilled');
  });

  it('leaves a detector fallback out of "all the run\'s detectors" rather than drilling it too', async () => {
    const r = await drill({ name: 'fallback not drilled', models: undefined, perturbations: [{ kind: 'failure', share: 0.1 }], runner: { fallback: 'static-error-rate' } });
    expect(r.models.map((m) => m.model.id)).toEqual([zscore]);
    expect(forModel(r, zscore).answeredByFallback).toBe(forModel(r, zscore).failures.error);
  });

  it('the CLI runs a detection drill from a file and prints its report', async () => {
    const file = writeFile(dir, 'drill.json', JSON.stringify({ name: 'cli', task: 'detection', baseRun, models: [staticRule], perturbations: [{ kind: 'failure', share: 0.1 }], runner: { fallback: 'static-alerts' } }));
    await engine.close();
    const res = await cli(['drill', '--workspace', workspace, '--drill', file]);
    expect(res.code).toBe(0);
    expect(res.out).toContain('steps failed; the fallback answered');
    const json = await cli(['drill', '--workspace', workspace, '--drill', file, '--json']);
    const report = JSON.parse(json.out) as DrillReport;
    expect(report.task).toBe('detection');
    expect(report.models[0]!.unhandled).toBe(0);
    engine = createEngine({ workspacesDir: path.join(dir, 'workspaces'), actor: 'drill-test' });
    await engine.call('workspace.openPath', { path: workspace });
    const listed = await engine.call('drills.results', { runId: baseRun, task: 'detection' });
    expect(listed.map((x) => x.id)).toContain(report.id);
  });
});
