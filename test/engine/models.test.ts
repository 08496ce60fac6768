import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine/engine.js';
import type { RunInfo } from '../../shared/contract/models.js';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { loadSession } from '../../electron/engine/models/onnx-model.js';
import { doubleInputModel, externalDataModel, firstFeatureModel, nanModel, partlyNanModel, partlyThrowingModel, sklearnStyleLogistic, twoColumnModel } from '../helpers/onnx-models.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

const T0 = Date.UTC(2026, 8, 1);
let engine: Engine;
let dir: string;

/** 300 changes with a size attribute in [0, 1) and in [0, 100), failures more likely when large. */
beforeAll(async () => {
  ({ engine, dir } = await freshEngine());
  const rows: string[] = [];
  const incidents: string[] = [];
  for (let i = 0; i < 300; i++) {
    const frac = ((i * 37) % 100) / 100;
    const size = Math.round(frac * 100);
    // `guard` is fine for the first 64 changes (the registry's trial rows) and 0 for every tenth change after.
    rows.push(`c${i},svc${i % 3},${T0 + i * 3_600_000},dev${i % 7},${frac},${size},${i % 5},${i >= 64 && i % 10 === 0 ? 0 : 50}`);
    if ((i * 7919) % 100 < size / 2) incidents.push(`I${i},svc${i % 3},2,${T0 + i * 3_600_000 + 600_000},${T0 + i * 3_600_000 + 1_200_000},c${i}`);
  }
  await importPath(engine, writeFile(dir, 'changes.csv', `id,service,timestamp,author,frac,size,tests_changed,guard\n${rows.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
  await importPath(engine, writeFile(dir, 'incidents.csv', `id,service,severity,started,detected,cause_change_id\n${incidents.join('\n')}\n`), { kind: 'incidents', timeUnit: 'ms' });
});

function modelFile(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

const add = (file: string, manifest: Record<string, unknown>) => engine.dispatch('models.addOnnxPath', { path: file, manifest }, { privileged: true });

async function run(models: number[], extra: Record<string, unknown> = {}): Promise<RunInfo> {
  const { jobId } = await engine.call('runs.start', { models, ...extra });
  const job = await engine.jobs.wait(jobId);
  if (job.state !== 'done') throw new Error(`run ${job.state}: ${job.error?.message}`);
  return job.result as RunInfo;
}

describe('the model registry', () => {
  it('accepts a skl2onnx-style classifier by rewriting its ZipMap output to the probability tensor', async () => {
    const r = await add(modelFile('sk.onnx', sklearnStyleLogistic([2, 0.01], -1)), { name: 'sk', input: 'float_input', features: ['frac', 'size'], output: 'output_probability' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const model = r.value as { id: number; notes: string[]; version: number };
    expect(model.notes[0]).toMatch(/ZipMap output "output_probability" was replaced by its probability tensor "probabilities"/);
    const result = await run([model.id]);
    const page = await engine.call('runs.suggestions', { runId: result.id, modelId: model.id, limit: 1000 });
    const c5 = page.rows.find((s) => s.externalId === 'c5')!;
    const frac = ((5 * 37) % 100) / 100;
    expect(c5.score).toBeCloseTo(1 / (1 + Math.exp(-(2 * frac + 0.01 * Math.round(frac * 100) - 1))), 6);
  });

  it('takes the risk column from the class labels: refuses "buggy"/"clean" until the manifest names the positive class, and refuses a label output', async () => {
    const file = modelFile('sk-text.onnx', sklearnStyleLogistic([-2, -0.01], 1, ['buggy', 'clean']));
    const manifest = { name: 'sk-text', input: 'float_input', features: ['frac', 'size'], output: 'output_probability' };
    // Column 1 would be P(clean): every change scored by how safe it is, accepted without a word before.
    expect(await add(file, manifest)).toMatchObject({ ok: false, error: { message: 'Model sk-text: its classes are "buggy" (column 0), "clean" (column 1), so which column is the risk cannot be assumed; add "positiveClass": "buggy" (or whichever class means an incident) to the manifest' } });
    expect(await add(file, { ...manifest, positiveClass: 'broken' })).toMatchObject({ ok: false, error: { message: expect.stringContaining('positiveClass "broken" is not one of its classes, "buggy" (column 0), "clean" (column 1)') } });
    const r = await add(file, { ...manifest, positiveClass: 'buggy' });
    expect(r.ok).toBe(true);
    const model = (r as { value: { id: number; notes: string[] } }).value;
    expect(model.notes).toContain('The risk is the probability of class "buggy" (column 0)');
    // The same model as the int-labelled one: P(buggy) = sigmoid(2·frac + 0.01·size − 1).
    const result = await run([model.id]);
    const c5 = (await engine.call('runs.suggestions', { runId: result.id, modelId: model.id, limit: 1000 })).rows.find((s) => s.externalId === 'c5')!;
    const frac = ((5 * 37) % 100) / 100;
    expect(c5.score).toBeCloseTo(1 / (1 + Math.exp(-(2 * frac + 0.01 * Math.round(frac * 100) - 1))), 6);
    // skl2onnx's label output: integers 0 and 1 that would pass for scores.
    const labels = await add(modelFile('sk-label.onnx', sklearnStyleLogistic([2, 0.01], -1)), { name: 'sk-label', input: 'float_input', features: ['frac', 'size'], output: 'output_label' });
    expect(labels).toMatchObject({ ok: false, error: { message: expect.stringContaining('output "output_label" holds int64 values (class labels, not probabilities)') } });
  });

  it('fills what a partial reference leaves out with the workspace\'s medians, and refuses a reference for a feature the model does not take', async () => {
    const file = modelFile('two-ref.onnx', twoColumnModel(2));
    const m = await engine.call('models.addOnnxPath', { path: file, manifest: { name: 'two-ref', input: 'features', features: ['frac', 'size'], output: 'flat', reference: { frac: 0.4 } } });
    expect(m.notes).toContain("The manifest's reference leaves out size: the workspace's medians are used for it");
    const out = await engine.call('models.exportPath', { id: m.id, path: path.join(dir, 'two-ref-export.onnx') });
    const sizes = Array.from({ length: 300 }, (_, i) => Math.round((((i * 37) % 100) / 100) * 100)).sort((a, b) => a - b);
    expect(JSON.parse(fs.readFileSync(out.manifest, 'utf8')).reference).toEqual({ frac: 0.4, size: sizes[150] });
    expect(await add(file, { name: 'two-stray', input: 'features', features: ['frac', 'size'], output: 'flat', reference: { frac: 0.4, lines: 3 } }))
      .toMatchObject({ ok: false, error: { message: 'Model two-stray: the manifest\'s reference names "lines", which is not a feature of the model (frac, size)' } });
  });

  it('reads [N, 2] probabilities by column and [N] scores', async () => {
    const bytes = modelFile('two.onnx', twoColumnModel(2));
    const two = await engine.call('models.addOnnxPath', { path: bytes, manifest: { name: 'two', input: 'features', features: ['frac', 'size'], output: 'probs', column: 1 } });
    const flat = await engine.call('models.addOnnxPath', { path: bytes, manifest: { name: 'flat', input: 'features', features: ['frac', 'size'], output: 'flat' } });
    const result = await run([two.id, flat.id]);
    for (const id of [two.id, flat.id]) {
      const c7 = (await engine.call('runs.suggestions', { runId: result.id, modelId: id, limit: 1000 })).rows.find((s) => s.externalId === 'c7')!;
      expect(c7.score).toBeCloseTo(((7 * 37) % 100) / 100, 6);
    }
  });

  it('refuses broken models with errors that name the model and what is wrong', async () => {
    const good = twoColumnModel(2);
    const truncated = await add(modelFile('cut.onnx', good.subarray(0, Math.floor(good.length / 2))), { name: 'cut', input: 'features', features: ['frac', 'size'], output: 'flat' });
    expect(truncated).toMatchObject({ ok: false, error: { code: 'input_error', message: expect.stringMatching(/^Model cut: /) } });
    const width = await add(modelFile('w.onnx', firstFeatureModel(3)), { name: 'w', input: 'features', features: ['frac', 'size'], output: 'risk' });
    expect(width).toMatchObject({ ok: false, error: { message: 'Model w: input "features" takes 3 features per row, but the manifest lists 2 (frac, size)' } });
    const unknown = await add(modelFile('u.onnx', firstFeatureModel(2)), { name: 'u', input: 'features', features: ['frac', 'coverage'], output: 'risk' });
    expect(unknown).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^Model u: the workspace has no feature coverage\. Available: .*frac.*size/) } });
    const nan = await add(modelFile('n.onnx', nanModel(2)), { name: 'n', input: 'features', features: ['frac', 'size'], output: 'risk' });
    expect(nan).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^Model n: trial inference on change c0 failed: model n returned NaN/) } });
    const badInput = await add(modelFile('i.onnx', firstFeatureModel(2)), { name: 'i', input: 'x', features: ['frac', 'size'], output: 'risk' });
    expect(badInput).toMatchObject({ ok: false, error: { message: 'Model i: the manifest names input "x", but the model\'s inputs are "features"' } });
    const notOnnx = await add(modelFile('t.onnx', new TextEncoder().encode('definitely not protobuf')), { name: 't', input: 'features', features: ['frac'], output: 'risk' });
    expect(notOnnx).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^Model t: /) } });
    expect((await engine.call('models.list', {})).map((m) => m.name)).not.toContain('cut');
    // A float64 input (skl2onnx's DoubleTensorType) is named, with how to export it instead.
    const double = await add(modelFile('double.onnx', doubleInputModel(2)), { name: 'dbl', input: 'features', features: ['frac', 'size'], output: 'risk' });
    expect(double).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^Model dbl: input "features" takes float64 values; Shadowbench feeds float32 rows\. Export the model with a float input \(skl2onnx: initial_types=\[\("features", FloatTensorType\(\[None, 2\]\)\)\]\)$/) } });
  });

  it('refuses a model that keeps weights in an external file, which onnxruntime would read from the working directory', async () => {
    // The threat is real: onnxruntime itself loads such a model from memory and reads the file.
    const leaky = externalDataModel(2, 'package.json');
    const session = await ort.InferenceSession.create(leaky);
    await session.release();
    const manifest = { input: 'features', features: ['frac', 'size'], output: 'risk' };
    expect(await add(modelFile('leak.onnx', leaky), { name: 'leak', ...manifest })).toMatchObject({ ok: false, error: {
      code: 'input_error', message: 'Model leak: initializer "secret" (file "package.json") keeps its values in an external file; Shadowbench takes only self-contained models (onnx.save_model(model, path, save_as_external_data=False) writes one)',
    } });
    expect(await add(modelFile('leak2.onnx', externalDataModel(2, '.env', true)), { name: 'leak2', ...manifest })).toMatchObject({ ok: false, error: {
      message: expect.stringMatching(/^Model leak2: attribute value of Constant node "secret" \(file "\.env"\) keeps its values in an external file/),
    } });
    // Hidden in a training graph, which inference never runs, it is refused all the same.
    const decoded = onnxProto.onnx.ModelProto.decode(firstFeatureModel(2));
    decoded.trainingInfo = [{ initialization: { name: 'init', initializer: [{ name: 'w', dims: [1], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'id_rsa' }] }] } }];
    const training = onnxProto.onnx.ModelProto.encode(decoded).finish();
    expect(await add(modelFile('train.onnx', training), { name: 'train', ...manifest })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^Model train: initializer "w" \(file "id_rsa"\) keeps its values in an external file/) } });
    // And where a workspace from elsewhere already holds one, it is not loaded either.
    await expect(loadSession('stored', leaky)).rejects.toThrow(/^Model stored: initializer "secret" \(file "package\.json"\)/);
    expect((await engine.call('models.list', {})).map((m) => m.name)).not.toContain('leak');
  });

  it('refuses the same file with the same manifest twice, and says which model a file under another name shares its bytes with', async () => {
    const file = modelFile('dup.onnx', firstFeatureModel(2));
    const manifest = { name: 'dup', input: 'features', features: ['frac', 'size'], output: 'risk' };
    const first = await engine.call('models.addOnnxPath', { path: file, manifest });
    const again = await add(file, manifest);
    expect(again).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringMatching(/^Model dup v1 is already this file with this manifest \(sha256 [0-9a-f]{12}…\); nothing added/) } });
    expect((await engine.call('models.list', {})).filter((m) => m.name === 'dup')).toHaveLength(1);
    // Another default threshold is another manifest: a new version, noted as the same file.
    const v2 = await engine.call('models.addOnnxPath', { path: file, manifest: { ...manifest, threshold: 0.3 } });
    expect(v2).toMatchObject({ name: 'dup', version: 2 });
    expect(v2.notes).toContain(`Same file (sha256 ${first.sha256.slice(0, 12)}…) as dup v1`);
    const other = await engine.call('models.addOnnxPath', { path: file, manifest: { ...manifest, name: 'dup-copy' } });
    expect(other.notes).toContain(`Same file (sha256 ${first.sha256.slice(0, 12)}…) as dup v1, dup v2`);
    // Once v1 is retired the same file and manifest may come back (as v3).
    await engine.call('models.retire', { id: first.id });
    expect(await engine.call('models.addOnnxPath', { path: file, manifest })).toMatchObject({ name: 'dup', version: 3 });
  });
});

describe('training a built-in', () => {
  it('refuses a feature that is the outcome under another name (JIT data imported without ignoring its `__` copy of the label)', async () => {
    const fresh = await freshEngine();
    const rows = Array.from({ length: 200 }, (_, i) => {
      const bug = (i * 7) % 10 < 3 ? 1 : 0;
      return `c${i},svc,${T0 + i * 3_600_000},${(i * 13) % 50 + 10 * bug},${bug},${bug}`;
    });
    await importPath(fresh.engine, writeFile(fresh.dir, 'jit.csv', `id,service,timestamp,la,__,outcome\n${rows.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
    await expect(fresh.engine.call('models.train', { name: 'lr', features: ['la', '__'] })).rejects.toThrow(
      /^Cannot train lr: __ separates the outcome perfectly on the \d+ training changes \(every failure is above 0, no other change is\): it is the outcome under another name or recorded after the fact\. Leave it out: name the features to train on \(e\.g\. la\), or ignore its column at import \(--map __=ignore\)$/,
    );
    // Without it, the same data trains.
    expect(await fresh.engine.call('models.train', { name: 'lr', features: ['la'] })).toMatchObject({ name: 'lr', version: 1 });
    fresh.engine.close();
  });
});

describe('training as of a cutoff', () => {
  it('learns only the failures known by then: one whose incident was detected later was not a label anyone had', async () => {
    const fresh = await freshEngine();
    const H = 3_600_000;
    const cutoff = T0 + 100 * H;
    const changes = Array.from({ length: 120 }, (_, i) => `c${i},svc,${T0 + i * H},${(i * 37) % 100}`);
    // 20 failures among the 100 changes before the cutoff; the last 10 of them came to light only after it.
    const incidents = Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 5 === 0)
      .map((i) => `I${i},svc,2,${T0 + i * H + 600_000},${i < 50 ? T0 + i * H + 1_200_000 : cutoff + H},c${i}`);
    await importPath(fresh.engine, writeFile(fresh.dir, 'c.csv', `id,service,timestamp,size\n${changes.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
    await importPath(fresh.engine, writeFile(fresh.dir, 'i.csv', `id,service,severity,started,detected,cause_change_id\n${incidents.join('\n')}\n`), { kind: 'incidents', timeUnit: 'ms' });
    // The default threshold is the training base rate: 10 known failures in 100, not 20.
    expect(await fresh.engine.call('models.train', { name: 'lr', features: ['size'], cutoff })).toMatchObject({ threshold: 0.1 });
    fresh.engine.close();
  });
});

describe('change-risk shadow runs', () => {
  it('refuse at registration a model that fails on the trial rows', async () => {
    const r = await add(modelFile('flaky.onnx', partlyNanModel(1)), { name: 'flaky', input: 'features', features: ['size'], output: 'risk' });
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^Model flaky: trial inference on change c0 failed: model flaky returned NaN/) } });
  });

  it('finish a run whose model fails on some rows, marking them and letting the fallback answer', async () => {
    const late = await engine.call('models.addOnnxPath', { path: modelFile('late.onnx', partlyNanModel(1)), manifest: { name: 'late', input: 'features', features: ['guard'], output: 'risk' } });
    const fallback = await engine.call('models.train', { name: 'fallback', kind: 'logistic', features: ['size'] });
    const withFallback = await run([late.id], { fallbackModel: fallback.id });
    const rows = (await engine.call('runs.suggestions', { runId: withFallback.id, modelId: late.id, limit: 1000 })).rows;
    expect(rows).toHaveLength(300);
    const failed = rows.filter((s) => s.error !== null);
    expect(failed).toHaveLength(23);
    expect(failed.every((s) => s.fallback && s.score !== null && /returned NaN/.test(s.error!))).toBe(true);
    const card = await engine.call('runs.scorecard', { runId: withFallback.id, modelId: late.id });
    expect(card.operations.error_rate).toBeCloseTo(23 / 300, 12);
    expect(card.operations.fallback_rate).toBeCloseTo(23 / 300, 12);
    const alone = await run([late.id]);
    const aloneRows = (await engine.call('runs.suggestions', { runId: alone.id, modelId: late.id, limit: 1000 })).rows;
    expect(aloneRows.filter((s) => s.score === null && s.error !== null)).toHaveLength(23);
    expect((await engine.call('runs.scorecard', { runId: alone.id, modelId: late.id })).n).toBe(277);
  });

  it('score the rest of a batch when a model throws on some of its rows, naming each row it threw on', async () => {
    const thrower = await engine.call('models.addOnnxPath', { path: modelFile('thrower.onnx', partlyThrowingModel(1)), manifest: { name: 'thrower', input: 'features', features: ['guard'], output: 'risk' } });
    const r = await run([thrower.id]);
    const rows = (await engine.call('runs.suggestions', { runId: r.id, modelId: thrower.id, limit: 1000 })).rows;
    const failed = rows.filter((s) => s.error !== null);
    // The 23 changes with guard 0 (every tenth after the 64th), not the batches they sit in.
    expect(failed.map((s) => s.externalId).sort()).toEqual(Array.from({ length: 300 }, (_, i) => i).filter((i) => i >= 64 && i % 10 === 0).map((i) => `c${i}`).sort());
    expect(failed.every((s) => s.score === null && s.error!.startsWith(`model thrower failed on ${s.externalId}: `))).toBe(true);
    expect(rows.filter((s) => s.error === null).every((s) => Math.abs(s.score! - 0.3) < 1e-6)).toBe(true);
    expect((await engine.call('runs.scorecard', { runId: r.id, modelId: thrower.id })).n).toBe(277);
  });

  it('train, run, score: deterministic suggestions and a scorecard with intervals and the attribution rule', async () => {
    const lr = await engine.call('models.train', { name: 'lr', kind: 'logistic', features: ['frac', 'size', 'tests_changed'], cutoff: T0 + 150 * 3_600_000 });
    const rules = await engine.call('models.train', { name: 'rules', kind: 'heuristic' }).catch((e: Error) => e);
    expect((rules as Error).message).toMatch(/needs a change-size attribute/);
    const a = await run([lr.id], { from: T0 + 150 * 3_600_000 });
    const b = await run([lr.id], { from: T0 + 150 * 3_600_000 });
    const strip = (rows: Array<Record<string, unknown>>) => rows.map(({ latencyMs: _l, runId: _r, ...rest }) => rest);
    const pa = await engine.call('runs.suggestions', { runId: a.id, modelId: lr.id, limit: 1000 });
    const pb = await engine.call('runs.suggestions', { runId: b.id, modelId: lr.id, limit: 1000 });
    expect(pa.total).toBe(150);
    expect(strip(pa.rows)).toEqual(strip(pb.rows));
    expect(a.manifest).toMatchObject({ subjects: 150, models: [{ id: lr.id, sha256: lr.sha256 }], datasetFingerprint: expect.stringMatching(/^[a-f0-9]{64}$/) });
    expect(a.manifest!.datasetFingerprint).toBe(b.manifest!.datasetFingerprint);
    const card = await engine.call('runs.scorecard', { runId: a.id, modelId: lr.id });
    expect(card.n).toBe(150);
    expect(card.metrics.auc_roc!.value).toBeGreaterThan(0.6);
    expect(card.metrics.auc_roc!.lo).toBeLessThan(card.metrics.auc_roc!.value!);
    expect(card.attribution).toEqual({ enabled: false, maxSeverity: 2, windowHours: 6 });
    expect(card.sweep.length).toBeGreaterThan(10);
    expect(card.reliability).toHaveLength(10);
    const again = await engine.call('runs.scorecard', { runId: a.id, modelId: lr.id });
    expect(again.metrics).toEqual(card.metrics);
  });

  it('explain a logistic suggestion exactly and an ONNX one by sampled Shapley values, both summing to score − reference', async () => {
    const lr = (await engine.call('models.list', {})).find((m) => m.name === 'lr')!;
    const sk = (await engine.call('models.list', {})).find((m) => m.name === 'sk')!;
    const r = await run([lr.id, sk.id], { from: T0 + 200 * 3_600_000 });
    for (const model of [lr, sk]) {
      const top = (await engine.call('runs.suggestions', { runId: r.id, modelId: model.id, limit: 1 })).rows[0]!;
      const detail = await engine.call('suggestions.get', { runId: r.id, modelId: model.id, changeId: top.changeId });
      const sum = detail.explanation.contributions.reduce((acc, c) => acc + c.contribution, 0);
      expect(Math.abs(sum - (detail.score! - detail.explanation.reference!))).toBeLessThan(model.kind === 'builtin' ? 1e-6 : 1e-5);
      expect(detail.explanation.method).toBe('exact-shapley'); // 3 and 2 features: every coalition is scored
      const again = await engine.call('suggestions.get', { runId: r.id, modelId: model.id, changeId: top.changeId });
      expect(again.explanation).toEqual(detail.explanation);
    }
  });

  it('export a trained model to ONNX that scores the same when imported again', async () => {
    const lr = (await engine.call('models.list', {})).find((m) => m.name === 'lr')!;
    const out = await engine.call('models.exportPath', { id: lr.id, path: path.join(dir, 'lr.onnx') });
    const manifest = JSON.parse(fs.readFileSync(out.manifest, 'utf8'));
    const back = await engine.call('models.addOnnxPath', { path: out.onnx, manifest: { ...manifest, name: 'lr-onnx' } });
    const r = await run([lr.id, back.id]);
    const a = (await engine.call('runs.suggestions', { runId: r.id, modelId: lr.id, limit: 1000 })).rows;
    const b = new Map((await engine.call('runs.suggestions', { runId: r.id, modelId: back.id, limit: 1000 })).rows.map((s) => [s.changeId, s.score]));
    for (const s of a) expect(Math.abs(s.score! - b.get(s.changeId)!)).toBeLessThan(1e-6);
  });

  it('evaluate a prediction log from a shadow deployment exactly like the model that wrote it', async () => {
    const lr = (await engine.call('models.list', {})).find((m) => m.name === 'lr')!;
    const first = await run([lr.id]);
    const rows = (await engine.call('runs.suggestions', { runId: first.id, modelId: lr.id, limit: 1000 })).rows;
    // The log the same model would have written in production, minus one change it never saw.
    const log = rows.filter((s) => s.externalId !== 'c3').map((s) => `${s.externalId},lr-prod,2.1.0,${s.score},${(s.changeId % 7) + 1}`);
    const report = await importPath(engine, writeFile(dir, 'log.csv', `subject,model,version,score,latency_ms\n${log.join('\n')}\n`), { kind: 'predictions' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 299 });
    const logged = (await engine.call('models.list', {})).find((m) => m.kind === 'imported-log')!;
    expect(logged).toMatchObject({ name: 'lr-prod', features: [], description: expect.stringContaining('lr-prod 2.1.0') });
    const both = await run([lr.id, logged.id]);
    const fromLog = (await engine.call('runs.suggestions', { runId: both.id, modelId: logged.id, limit: 1000 })).rows;
    expect(fromLog.find((s) => s.externalId === 'c3')).toMatchObject({ score: null, error: 'the lr-prod log has no score for this change' });
    expect(fromLog.find((s) => s.externalId === 'c10')!.latencyMs).toBe((rows.find((s) => s.externalId === 'c10')!.changeId % 7) + 1);
    const a = await engine.call('runs.scorecard', { runId: both.id, modelId: lr.id, threshold: 0.3 });
    const b = await engine.call('runs.scorecard', { runId: both.id, modelId: logged.id, threshold: 0.3 });
    expect(b.n).toBe(a.n - 1);
    expect(Math.abs(b.metrics.auc_roc!.value! - a.metrics.auc_roc!.value!)).toBeLessThan(0.01);
    expect(b.operations.error_rate).toBeCloseTo(1 / 300, 12);
    const bad = await importPath(engine, writeFile(dir, 'badlog.csv', 'subject,model,score\nc1,m,1.5\nc2,m,\n'), { kind: 'predictions' });
    expect(bad.rejected).toEqual([{ line: 2, reason: 'score 1.5 must be between 0 and 1' }, { line: 3, reason: 'score is missing' }]);
  });
});
