import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli.js';
import { buildFeatures, loadChanges } from '../../electron/engine/features/catalog.js';
import { labelChanges } from '../../electron/engine/features/outcomes.js';
import { predictLogistic, trainLogistic } from '../../electron/engine/models/logistic.js';
import { computeMetrics, sortPredictions } from '../../shared/metrics/classification.js';
import { SHARED_DATA, tempDir } from '../helpers/workspace.js';

const JIT = path.join(SHARED_DATA, 'jit', 'openstack_k_feature.csv');
const FEATURES = ['ns', 'nd', 'nf', 'entrophy', 'la', 'ld', 'lt', 'fix', 'ndev', 'age', 'nuc', 'exp', 'rexp', 'sexp'];
let db: Database.Database;
let workspace: string;
const quiet = { out: () => undefined, err: () => undefined, isTTY: false };

describe.skipIf(!fs.existsSync(JIT))('OpenStack just-in-time defect data (../shared/data/jit)', () => {
beforeAll(async () => {
  workspace = path.join(tempDir(), 'jit.sbw');
  // The same command the README shows; `__` is a copy of the label and must never become a feature.
  const code = await runCli(['import', '--workspace', workspace, '--create', '--kind', 'changes', '--map', '_id=id', '--map', 'date=timestamp',
    '--map', 'bug=outcome', '--map', '__=ignore', '--service', 'openstack', JIT], quiet);
  expect(code).toBe(0);
  db = new Database(workspace, { readonly: true });
}, 60_000);

  it('imports every commit with its outcome and 14 metrics, and without the leaked label', () => {
    const changes = loadChanges(db);
    expect(changes).toHaveLength(22_757);
    expect(Object.keys(changes[0]!.attributes).sort()).toEqual([...FEATURES].sort());
    const outcomes = labelChanges(db);
    const positive = [...outcomes.values()].filter((o) => o.label === 1).length / changes.length;
    expect(positive).toBeCloseTo(0.26, 2);
  });

  it('reproduces the published AUCs: logistic regression 0.7097 and LApredict 0.7491 on the last 20 %', () => {
    const changes = loadChanges(db);
    const outcomes = labelChanges(db);
    const cut = Math.floor(changes.length * 0.8);
    expect(cut).toBe(18_205);
    const train = changes.slice(0, cut);
    const test = changes.slice(cut);
    const rows = buildFeatures(db, changes, FEATURES, outcomes);
    const model = trainLogistic(FEATURES, rows.slice(0, cut), train.map((c) => outcomes.get(c.id)!.label), { C: 1 });
    const labels = test.map((c) => outcomes.get(c.id)!.label);
    const lr = computeMetrics(sortPredictions(rows.slice(cut).map((r, i) => ({ score: predictLogistic(model, r), label: labels[i]! }))), 0.5);
    expect(lr.auc_roc!).toBeGreaterThan(0.7097 - 0.005);
    expect(lr.auc_roc!).toBeLessThan(0.7097 + 0.005);
    const la = FEATURES.indexOf('la');
    const lapredict = computeMetrics(sortPredictions(rows.slice(cut).map((r, i) => ({ score: r[la]!, label: labels[i]! }))), 0.5);
    expect(lapredict.auc_roc!).toBeGreaterThan(0.7491 - 0.0005);
    expect(lapredict.auc_roc!).toBeLessThan(0.7491 + 0.0005);
  });

  it('gives the same AUCs through the commands the README shows', async () => {
    const features = FEATURES.join(',');
    expect(await runCli(['models', 'train', '--workspace', workspace, '--name', 'lr', '--no-log1p', '--features', features, '--train-fraction', '0.8'], quiet)).toBe(0);
    expect(await runCli(['models', 'train', '--workspace', workspace, '--name', 'lapredict', '--kind', 'single-feature', '--features', 'la', '--train-fraction', '0.8'], quiet)).toBe(0);
    let out = '';
    expect(await runCli(['run', '--workspace', workspace, '--models', 'lr,lapredict', '--from', 'after-training', '--resamples', '100', '--json'], { ...quiet, out: (t) => (out += t) })).toBe(0);
    const result = JSON.parse(out) as { run: { manifest: { subjects: number; outcomeSources: Record<string, number> } }; scorecards: Array<{ model: { name: string }; metrics: Record<string, { value: number }> }> };
    expect(result.run.manifest).toMatchObject({ subjects: 4552, outcomeSources: { explicit: 4552 } });
    const auc = Object.fromEntries(result.scorecards.map((c) => [c.model.name, c.metrics.auc_roc!.value]));
    expect(Math.abs(auc.lr! - 0.7097)).toBeLessThan(0.005);
    expect(Math.abs(auc.lapredict! - 0.7491)).toBeLessThan(0.0005);
  }, 60_000);
});
