import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli.js';
import { createEngine, type Engine } from '../../electron/engine/engine.js';
import type { DrillReport, DrillSpecInput } from '../../shared/contract/drills.js';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/workspace.js';

/**
 * Drills on the demo workspace (issue 7's "done when"): the shipped ONNX model and the heuristic
 * rules, run after the ONNX model's training window, then re-run under faults.
 */

let engine: Engine;
let workspace: string;
let dir: string;
let baseRun: number;
let gbdt: number;

async function drill(spec: Omit<DrillSpecInput, 'baseRun'> & { baseRun?: number }): Promise<DrillReport> {
  const { jobId } = await engine.call('drills.start', { spec: { baseRun, ...spec } });
  const job = await engine.jobs.wait(jobId);
  if (job.state !== 'done') throw new Error(`drill ${job.state}: ${job.error?.message}`);
  return job.result as DrillReport;
}

const forModel = (r: DrillReport, id: number) => r.models.find((m) => m.model.id === id)!;

beforeAll(async () => {
  dir = tempDir();
  workspace = path.join(dir, 'demo.sbw');
  const quiet = { out: () => undefined, err: () => undefined, isTTY: false };
  expect(await runCli(['demo', '--workspace', workspace], quiet)).toBe(0);
  expect(await runCli(['models', 'train', '--workspace', workspace, '--name', 'rules', '--kind', 'heuristic'], quiet)).toBe(0);
  let out = '';
  expect(await runCli(['run', '--workspace', workspace, '--models', 'demo-gbdt,rules', '--from', 'after-training', '--json', '--resamples', '0'], { ...quiet, out: (t) => (out += t) })).toBe(0);
  baseRun = (JSON.parse(out) as { run: { id: number } }).run.id;
  engine = createEngine({ workspacesDir: path.join(dir, 'workspaces'), actor: 'drill-test' });
  await engine.call('workspace.openPath', { path: workspace });
  const models = await engine.call('models.list', {});
  gbdt = models.find((m) => m.name === 'demo-gbdt')!.id;
}, 180_000);

describe('drills on the demo workspace', () => {
  it('a no-op drill reproduces the base run exactly', async () => {
    const r = await drill({ name: 'no-op', perturbations: [] });
    for (const m of r.models) {
      expect(m.identicalToBase).toBe(true);
      expect(m.unhandled).toBe(0);
      for (const d of m.deltas) expect(d.difference.value).toBe(0);
    }
    const rows = (run: number) => engine.call('runs.suggestions', { runId: run, modelId: gbdt, offset: 0, limit: 1000 });
    const [a, b] = [await rows(baseRun), await rows(r.drillRunId)];
    expect(b.rows.map((s) => [s.changeId, s.score, s.decision])).toEqual(a.rows.map((s) => [s.changeId, s.score, s.decision]));
  });

  it('a 3σ shift in lines_added raises the drift flag on that feature and moves the metrics', async () => {
    const r = await drill({ name: 'shift', models: [gbdt], perturbations: [{ kind: 'drift', features: ['lines_added'], shift: 3 }] });
    const m = forModel(r, gbdt);
    const before = m.drift.base!.features.find((f) => f.feature === 'lines_added')!;
    const after = m.drift.drill!.features.find((f) => f.feature === 'lines_added')!;
    expect(before.band).toBe('stable');
    expect(after.band).toBe('drift');
    expect(after.ksP!).toBeLessThan(1e-6);
    expect(m.drift.drill!.flag).toBe(true);
    expect(m.injected).toEqual({ drift: m.rows });
    // Moves beyond noise: at least one metric's paired interval excludes zero.
    const moved = m.deltas.filter((d) => d.verdict === 'better' || d.verdict === 'worse').map((d) => d.metric);
    expect(moved).toContain('fpr');
    expect(r.summary.join('\n')).toMatch(/newly drifting: lines_added/);
    // The explanation of a drilled suggestion shows the input the drill gave the model, and adds up to the stored score.
    const row = (await engine.call('runs.suggestions', { runId: r.drillRunId, modelId: gbdt, offset: 0, limit: 1 })).rows[0]!;
    const base = await engine.call('suggestions.get', { runId: r.baseRunId, modelId: gbdt, changeId: row.changeId });
    const drilled = await engine.call('suggestions.get', { runId: r.drillRunId, modelId: gbdt, changeId: row.changeId });
    const value = (d: typeof base): number => d.explanation.contributions.find((c) => c.feature === 'lines_added')!.value;
    expect(value(drilled)).toBeGreaterThan(value(base) + 100);
    expect(drilled.explanation.note).toContain('the ones the drill gave the model');
    expect(drilled.explanation.reference! + drilled.explanation.contributions.reduce((a, c) => a + c.contribution, 0)).toBeCloseTo(row.score!, 6);
  });

  it('a 20 % model-failure drill finishes with every failed row answered by the fallback, none unhandled', async () => {
    const r = await drill({ name: 'failures', perturbations: [{ kind: 'failure', share: 0.2 }], runner: { fallback: 'rules' } });
    // The fallback is not drilled itself: it would answer for its own failures.
    expect(r.models.map((m) => m.model.name)).toEqual(['demo-gbdt']);
    const rules = (await engine.call('models.list', {})).find((x) => x.name === 'rules')!.id;
    await expect(drill({ name: 'self', models: [gbdt, rules], perturbations: [{ kind: 'failure', share: 0.2 }], runner: { fallback: 'rules' } }))
      .rejects.toThrow(/rules v1 is the fallback and cannot also be drilled/);
    const m = forModel(r, gbdt);
    expect(m.failures).toEqual({ error: Math.round(0.2 * m.rows) });
    expect(m.answeredByFallback).toBe(Math.round(0.2 * m.rows));
    expect(m.noSuggestion).toBe(0);
    expect(m.unhandled).toBe(0);
    expect(m.fallbackRate).toBeCloseTo(0.2, 2);
    const card = await engine.call('runs.scorecard', { runId: r.drillRunId, modelId: gbdt, resamples: 0 });
    expect(card.operations.fallback_rate).toBeCloseTo(0.2, 2);
    // The model is judged on the rows it answered; the fallback's answers (its scores, its threshold) are left out.
    expect(card.n).toBe(m.rows - m.answeredByFallback);
    expect(card.answeredByFallback).toBe(m.answeredByFallback);
    // A fallback row is explained by the fallback, and its contributions add up to the score it stored.
    const page = await engine.call('runs.suggestions', { runId: r.drillRunId, modelId: gbdt, offset: 0, limit: 1000 });
    const row = page.rows.find((x) => x.fallback && x.score !== null)!;
    const detail = await engine.call('suggestions.get', { runId: r.drillRunId, modelId: gbdt, changeId: row.changeId });
    expect(detail.explanation.note).toContain('answered by the fallback, rules v1');
    // Feedback becomes training labels: not on answers a drill falsified.
    await expect(engine.call('feedback.add', { runId: r.drillRunId, modelId: gbdt, changeId: row.changeId, verdict: 'agree', reason: 'looks right' }))
      .rejects.toThrow(`Run ${r.drillRunId} is a drill`);
    expect(detail.explanation.reference! + detail.explanation.contributions.reduce((a, c) => a + c.contribution, 0)).toBeCloseTo(row.score!, 6);
  });

  it('garbage outputs are caught by output validation; without a fallback they become "no suggestion", never a stored score', async () => {
    const spec = { name: 'garbage', models: [gbdt], perturbations: [{ kind: 'garbage' as const, share: 0.1, value: 'out-of-range' as const }, { kind: 'garbage' as const, share: 0.05, value: 'nan' as const }] };
    const withFallback = forModel(await drill({ ...spec, runner: { fallback: 'rules' } }), gbdt);
    expect(withFallback.garbageRows).toBeGreaterThan(90);
    expect(withFallback.garbageCaught).toBe(withFallback.garbageRows);
    expect(withFallback.failures['invalid-output']).toBe(withFallback.garbageRows);
    expect(withFallback.answeredByFallback).toBe(withFallback.garbageRows);
    expect(withFallback.unhandled).toBe(0);
    const r = await drill({ ...spec, runner: { fallback: 'none' } });
    const none = forModel(r, gbdt);
    expect(none.noSuggestion).toBe(none.garbageRows);
    expect(none.unhandled).toBe(0);
    const stored = await engine.call('runs.suggestions', { runId: r.drillRunId, modelId: gbdt, offset: 0, limit: 1000 });
    expect(stored.rows.every((s) => s.score === null || (s.score >= 0 && s.score <= 1))).toBe(true);
    expect(stored.rows.filter((s) => s.fault === 'invalid-output').length).toBe(none.garbageRows);
  });

  it('counts garbage planned on rows that had already failed as never reaching the output, not as escaped', async () => {
    const r = await drill({ name: 'mix', models: [gbdt], perturbations: [{ kind: 'failure', share: 0.5 }, { kind: 'garbage', share: 0.2, value: 'nan' }], runner: { fallback: 'rules' } });
    const m = forModel(r, gbdt);
    expect(m.garbageEarlier).toBeGreaterThan(0);
    expect(m.garbageCaught + m.garbageEarlier!).toBe(m.garbageRows);
    expect(m.unhandled).toBe(0);
    expect(r.summary.join('\n')).toContain(`caught ${m.garbageCaught} of ${m.garbageRows} garbage outputs; the other ${m.garbageEarlier} rows had already failed before their output`);
  });

  it('added latency over the per-inference budget is a timeout the fallback answers', async () => {
    const r = await drill({ name: 'slow', models: [gbdt], perturbations: [{ kind: 'latency', ms: 500, share: 0.1 }], runner: { timeoutMs: 200, fallback: 'rules' } });
    const m = forModel(r, gbdt);
    expect(m.failures).toEqual({ timeout: Math.round(0.1 * m.rows) });
    expect(m.answeredByFallback).toBe(Math.round(0.1 * m.rows));
    const card = await engine.call('runs.scorecard', { runId: r.drillRunId, modelId: gbdt, resamples: 0 });
    expect(card.operations.latency_p99_ms!).toBeGreaterThanOrEqual(500);
  });

  it('missing values are imputed with the reference, or refused and answered by the fallback, as the NaN policy says', async () => {
    const perturbations = [{ kind: 'missing' as const, features: ['lines_added', 'files_changed'], share: 0.3 }];
    const imputed = await drill({ name: 'missing', models: [gbdt], perturbations, runner: { nanPolicy: 'impute' } });
    const rows = await engine.call('runs.suggestions', { runId: imputed.drillRunId, modelId: gbdt, offset: 0, limit: 1000 });
    expect(rows.rows.filter((s) => s.fault === 'imputed').length).toBe(Math.round(0.3 * rows.total));
    expect(forModel(imputed, gbdt).noSuggestion).toBe(0);
    const refused = forModel(await drill({ name: 'missing', models: [gbdt], perturbations, runner: { nanPolicy: 'refuse', fallback: 'rules' } }), gbdt);
    expect(refused.failures).toEqual({ 'invalid-input': Math.round(0.3 * refused.rows) });
    expect(refused.answeredByFallback).toBe(Math.round(0.3 * refused.rows));
  });

  it('stale telemetry freezes a span, flips move decisions, and the gate verdict says whether it changed', async () => {
    await engine.call('gates.save', { spec: { name: 'ranking', criteria: [{ metric: 'auc_roc', op: '>=', value: 0.65 }, { metric: 'error_rate', op: '<=', value: 0.01 }] } });
    const r = await drill({
      name: 'stale and flips', models: [gbdt], gate: 'ranking',
      perturbations: [{ kind: 'stale', features: ['service_changes_7d', 'hours_since_prev_change'], share: 0.4 }, { kind: 'flip', share: 0.3 }],
    });
    const m = forModel(r, gbdt);
    expect(m.injected.flip).toBe(Math.round(0.3 * m.rows));
    expect(m.injected.stale).toBeGreaterThan(0.3 * m.rows);
    expect(m.gate).not.toBeNull();
    expect(m.gate!.base).toBe('pass');
    expect(m.gate!.drill).toBe('fail');
    expect(m.gate!.changed).toBe(true);
    expect(m.gate!.reasons.join(' ')).toMatch(/auc_roc/);
  });

  it('drift is available to gates as max_psi', async () => {
    const card = await engine.call('runs.scorecard', { runId: baseRun, modelId: gbdt, resamples: 0 });
    expect(card.drift).not.toBeNull();
    expect(card.operations.max_psi).toBe(card.drift!.maxPsi);
    const loose = await engine.call('gates.check', { runId: baseRun, modelId: gbdt, spec: { name: 'drift', criteria: [{ metric: 'max_psi', op: '<=', value: 1000 }] }, championId: null, resamples: 0 });
    expect(loose.verdict).toBe('pass');
    const tight = await engine.call('gates.check', { runId: baseRun, modelId: gbdt, spec: { name: 'drift', criteria: [{ metric: 'max_psi', op: '<=', value: card.drift!.maxPsi! / 2 }] }, championId: null, resamples: 0 });
    expect(tight.verdict).toBe('fail');
    expect(tight.criteria[0]!.reason).toContain('max_psi is');
  });

  it('specs are saved and versioned; a saved drill runs by name and the audit log records both', async () => {
    const v1 = await engine.call('drills.save', { spec: { name: 'nightly', baseRun, perturbations: [{ kind: 'failure', share: 0.1 }] } });
    const v2 = await engine.call('drills.save', { spec: { name: 'nightly', baseRun, perturbations: [{ kind: 'failure', share: 0.2 }], runner: { fallback: 'rules' } } });
    expect([v1.version, v2.version]).toEqual([1, 2]);
    const { jobId } = await engine.call('drills.start', { name: 'nightly' });
    const report = (await engine.jobs.wait(jobId)).result as DrillReport;
    expect(report.drillVersion).toBe(2);
    expect(forModel(report, gbdt).answeredByFallback).toBe(Math.round(0.2 * forModel(report, gbdt).rows));
    expect((await engine.call('drills.results', { runId: baseRun })).map((d) => d.id)).toContain(report.id);
    const run = await engine.call('runs.get', { id: report.drillRunId });
    expect(run.config.drill).toMatchObject({ name: 'nightly', version: 2, baseRun });
    const audit = await engine.call('audit.list', { action: 'drill.save', limit: 10 });
    expect(audit.rows.map((e) => e.subject)).toEqual(expect.arrayContaining(['drill nightly v1', 'drill nightly v2']));
    expect((await engine.call('audit.list', { action: 'drill.start', limit: 10 })).total).toBeGreaterThan(0);
  });

  it('bad specs get errors naming the perturbation and field, and leave the workspace as it was', async () => {
    const runsBefore = (await engine.call('runs.list', {})).length;
    const attempt = (spec: unknown) => engine.call('drills.start', { spec });
    await expect(attempt({ name: 'x', baseRun, perturbations: [{ kind: 'meteor', share: 0.1 }] })).rejects.toThrow(/perturbations\.0.*kinds: drift, noise/);
    await expect(attempt({ name: 'x', baseRun, perturbations: [{ kind: 'failure', share: 1.5 }] })).rejects.toThrow(/perturbations\.0\.share \(failure\)/);
    await expect(attempt({ name: 'x', baseRun, models: [gbdt], perturbations: [{ kind: 'drift', features: ['no_such_feature'], shift: 1 }] })).rejects.toThrow(/no drilled model reads no_such_feature; their features: .*lines_added/);
    await expect(attempt({ name: 'x', baseRun: 9999 })).rejects.toThrow(/No run 9999/);
    await expect(attempt({ name: 'x', baseRun, runner: { fallback: 'nobody' } })).rejects.toThrow(/fallback "nobody" is not an active model/);
    await expect(attempt({ name: 'x', baseRun, models: [424242] })).rejects.toThrow(/did not take part in run/);
    await expect(attempt({ name: 'x', baseRun, gate: 'no-such-gate' })).rejects.toThrow(/No saved gate named "no-such-gate"/);
    expect((await engine.call('runs.list', {})).length).toBe(runsBefore);
  });

  it('the CLI runs a drill file: summary or JSON, exit 0, and 2 for a spec that does not parse', async () => {
    const file = path.join(dir, 'drill.json');
    (await import('node:fs')).writeFileSync(file, JSON.stringify({ name: 'cli', baseRun, models: [gbdt], perturbations: [{ kind: 'failure', share: 0.2 }], runner: { fallback: 'rules' } }));
    await engine.call('workspace.close', {});
    const text = await cli(['drill', '--workspace', workspace, '--drill', file]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/demo-gbdt v1: 134 of 669 rows failed; the fallback answered 134, 0 got no suggestion; 0 reached the output unhandled/);
    const json = await cli(['drill', '--workspace', workspace, '--drill', file, '--json']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.out) as DrillReport).models[0]!.unhandled).toBe(0);
    const html = path.join(dir, 'report.html');
    expect((await cli(['report', '--workspace', workspace, '--run', String(baseRun), '--out', html])).code).toBe(0);
    const content = (await import('node:fs')).readFileSync(html, 'utf8');
    expect(content).toContain('<h2>Drills');
    expect(content).toMatch(/cli — run \d+/);
    expect(content).toMatch(/max_psi/);
    (await import('node:fs')).writeFileSync(file, JSON.stringify({ name: 'cli', baseRun, perturbations: [{ kind: 'flip' }] }));
    const bad = await cli(['drill', '--workspace', workspace, '--drill', file]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/perturbations\.0\.share \(flip\)/);
    await engine.call('workspace.openPath', { path: workspace });
  });
});

describe('a drill after new data arrived', () => {
  it('replays exactly the changes its base run scored, not a deploy imported since', async () => {
    const csv = path.join(dir, 'late.csv');
    fs.writeFileSync(csv, 'id,service,timestamp,lines_added,lines_deleted,files_changed,tests_changed\nlate-1,checkout,2026-11-30T12:00:00Z,400,20,9,0\n');
    const { jobId } = await engine.call('import.startPath', { path: csv, kind: 'changes' });
    expect((await engine.jobs.wait(jobId)).state).toBe('done');
    const r = await drill({ name: 'after-import', perturbations: [] });
    for (const m of r.models) expect([m.model.name, m.identicalToBase, m.unhandled]).toEqual([m.model.name, true, 0]);
    const base = await engine.call('runs.suggestions', { runId: baseRun, modelId: gbdt, offset: 0, limit: 1 });
    const drilled = await engine.call('runs.suggestions', { runId: r.drillRunId, modelId: gbdt, offset: 0, limit: 1 });
    expect(drilled.total).toBe(base.total);
  });
});
