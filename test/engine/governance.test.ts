import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../electron/engine/engine.js';
import type { RetrainResult } from '../../electron/engine/runs/retrain.js';
import type { RunInfo } from '../../shared/contract/models.js';
import { tempDir } from '../helpers/workspace.js';

let engine: Engine;

beforeAll(async () => {
  const dir = tempDir();
  engine = createEngine({ workspacesDir: dir, actor: 'mo' });
  const { jobId } = await engine.call('demo.build', { path: path.join(dir, 'demo.sbw') });
  expect((await engine.jobs.wait(jobId)).state).toBe('done');
  await engine.call('workspace.openPath', { path: path.join(dir, 'demo.sbw') });
  return () => engine.close();
}, 180_000);

describe('model governance', () => {
  it('records who made which model champion, and reverts one step', async () => {
    const lr = await engine.call('models.train', { name: 'risk-lr' });
    const rules = await engine.call('models.train', { name: 'rules', kind: 'heuristic' });
    await engine.call('roles.setChampion', { modelId: rules.id });
    await engine.call('roles.setChampion', { modelId: lr.id, reason: 'gate "gating mode" PASS on run 3' });
    expect((await engine.call('models.get', { id: lr.id })).role).toBe('champion');
    // The reason is kept with the model's history and in the audit log.
    expect((await engine.call('models.history', {})).find((e) => e.model === 'risk-lr v1' && e.role === 'champion')!.note).toBe('replaces rules v1: gate "gating mode" PASS on run 3');
    const status = (await engine.call('audit.list', { action: 'model.status' })).rows[0]!;
    expect(status.payload).toMatchObject({ champion: lr.id, reason: 'gate "gating mode" PASS on run 3' });
    // Named for an auditor, not by internal id alone.
    expect(status.subject).toBe(`change-risk champion: risk-lr v1 (id ${lr.id})`);
    expect((await engine.call('models.get', { id: rules.id })).role).toBe('challenger');
    await engine.call('roles.revert', {});
    expect((await engine.call('roles.get', {})).changeRisk).toBe(rules.id);
    const history = (await engine.call('models.history', {})).filter((e) => e.id !== 0);
    expect(history.map((e) => [e.model, e.role, e.actor])).toEqual([
      ['rules v1', 'champion', 'mo'], ['rules v1', 'challenger', 'mo'], ['risk-lr v1', 'champion', 'mo'], ['risk-lr v1', 'challenger', 'mo'], ['rules v1', 'champion', 'mo'],
    ]);
    // Retiring the champion leaves none; reverting brings back the one before, if still active.
    await engine.call('models.retire', { id: rules.id });
    expect((await engine.call('roles.get', {})).changeRisk).toBeNull();
    await engine.call('roles.revert', {});
    expect((await engine.call('roles.get', {})).changeRisk).toBe(lr.id);
    expect((await engine.call('audit.list', { action: 'model.' })).rows.map((e) => e.action)).toContain('model.retire');
  });
});

describe('the retraining loop', () => {
  it('exports a labelled dataset with features as of each change, outcomes and feedback labels', async () => {
    const lr = (await engine.call('models.list', {})).find((m) => m.name === 'risk-lr')!;
    const { jobId } = await engine.call('runs.start', { models: [lr.id] });
    const run = (await engine.jobs.wait(jobId)).result as RunInfo;
    const first = (await engine.call('runs.suggestions', { runId: run.id, modelId: lr.id, limit: 3 })).rows;
    await engine.call('feedback.add', { runId: run.id, modelId: lr.id, changeId: first[0]!.changeId, verdict: 'override', decision: first[0]!.decision ? 'let through' : 'hold back', reason: 'known safe pattern' });
    const { csv, rows } = await engine.call('datasets.export', { features: ['lines_added', 'service_incidents_30d'] });
    const records = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows).toBe(records.length);
    expect(Object.keys(records[0]!)).toEqual(['change', 'timestamp', 'lines_added', 'service_incidents_30d', 'outcome', 'outcome_source', 'feedback_label']);
    const judged = records.find((r) => r.change === first[0]!.externalId)!;
    expect(judged.feedback_label).toBe(first[0]!.decision ? '0' : '1');
    expect(records.filter((r) => r.feedback_label !== '').length).toBe(1);
  });

  it('trains the next version up to a cutoff, runs both in shadow after it, and compares them', async () => {
    const lr = (await engine.call('models.list', {})).find((m) => m.name === 'risk-lr' && m.version === 1)!;
    const { jobId } = await engine.call('models.retrain', { modelId: lr.id, useFeedback: true });
    const job = await engine.jobs.wait(jobId);
    expect(job.state, job.error?.message).toBe('done');
    const r = job.result as RetrainResult;
    expect(r.model).toMatchObject({ name: 'risk-lr', version: 2 });
    expect(r.model.description).toMatch(/1 labels from human feedback/);
    expect(r.model.trainedUntil!).toBeGreaterThan(lr.trainedUntil!);
    expect(r.run.config.from).toBe(r.model.trainedUntil);
    expect(r.comparison.champion.version).toBe(1);
    expect(r.comparison.challenger.version).toBe(2);
    const auc = r.comparison.metrics.find((m) => m.metric === 'auc_roc')!;
    expect(auc.difference.lo).not.toBeNull();
    expect(auc.difference.lo!).toBeLessThanOrEqual(auc.difference.hi!);
    await expect(engine.call('models.retrain', { modelId: (await engine.call('models.list', {})).find((m) => m.name === 'demo-gbdt')!.id })).rejects.toThrow(/not a trained built-in/);
  }, 120_000);

  it('leaves the workspace as it was when cancelled: no new version, no half run', async () => {
    const before = { models: await engine.call('models.list', {}), runs: await engine.call('runs.list', {}) };
    const lr = before.models.find((m) => m.name === 'risk-lr' && m.version === 1)!;
    const { jobId } = await engine.call('models.retrain', { modelId: lr.id, useFeedback: false });
    // The new version is trained before the job's first pause; the cancel lands in its shadow run.
    engine.jobs.cancel(jobId);
    const job = await engine.jobs.wait(jobId);
    expect(job.state).toBe('cancelled');
    expect((await engine.call('models.list', {})).map((m) => `${m.name} v${m.version}`)).toEqual(before.models.map((m) => `${m.name} v${m.version}`));
    expect((await engine.call('runs.list', {})).map((r) => r.id)).toEqual(before.runs.map((r) => r.id));
  }, 120_000);
});
