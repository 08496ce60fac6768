import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWorkspace } from '../electron/engine/db/workspace.js';
import { buildDemoWorkspace } from '../electron/engine/demo.js';
import { buildFeatures, featureCatalog, loadChanges } from '../electron/engine/features/catalog.js';
import { labelChanges } from '../electron/engine/features/outcomes.js';
import { treesToOnnx, type TreeNode } from '../electron/engine/models/onnx-writer.js';

/**
 * The shipped demo ONNX model: gradient-boosted trees (logistic loss) trained on the first 60 %
 * of the demo's changes, written as an ONNX tree ensemble with its manifest. It stands in for the
 * model a team would bring from its own training pipeline. `npm run demo:model` rebuilds it;
 * the same inputs always give the same bytes.
 */

export const TRAIN_FRACTION = 0.6;

interface Options { trees: number; depth: number; learningRate: number; lambda: number; minLeaf: number; bins: number }
const DEFAULTS: Options = { trees: 150, depth: 3, learningRate: 0.03, lambda: 1, minLeaf: 25, bins: 32 };

/** Candidate split points per feature: midpoints between quantiles of its distinct values. */
function cutPoints(values: number[], bins: number): number[] {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  if (distinct.length <= 1) return [];
  const cuts: number[] = [];
  for (let k = 1; k < Math.min(bins, distinct.length); k++) {
    const i = Math.floor((k * distinct.length) / Math.min(bins, distinct.length));
    if (i > 0 && i < distinct.length) cuts.push((distinct[i - 1]! + distinct[i]!) / 2);
  }
  return [...new Set(cuts)];
}

export function trainBoostedTrees(rows: number[][], labels: number[], options: Partial<Options> = {}): { trees: TreeNode[][]; base: number } {
  const o = { ...DEFAULTS, ...options };
  const n = rows.length;
  const d = rows[0]!.length;
  const rate = labels.reduce((a, b) => a + b, 0) / n;
  const base = Math.log(rate / (1 - rate));
  const margin = new Float64Array(n).fill(base);
  const cuts = Array.from({ length: d }, (_, j) => cutPoints(rows.map((r) => r[j]!), o.bins));
  const trees: TreeNode[][] = [];
  for (let t = 0; t < o.trees; t++) {
    const g = new Float64Array(n);
    const h = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-margin[i]!));
      g[i] = p - labels[i]!;
      h[i] = p * (1 - p);
    }
    const nodes: TreeNode[] = [];
    const grow = (members: number[], depth: number): number => {
      const id = nodes.length;
      let G = 0;
      let H = 0;
      for (const i of members) {
        G += g[i]!;
        H += h[i]!;
      }
      nodes.push({ feature: 0, threshold: 0, left: 0, right: 0, value: (-G / (H + o.lambda)) * o.learningRate, leaf: true });
      if (depth === o.depth || members.length < 2 * o.minLeaf) return id;
      let best = { gain: 1e-9, feature: -1, threshold: 0 };
      for (let j = 0; j < d; j++) {
        for (const c of cuts[j]!) {
          let GL = 0;
          let HL = 0;
          let nL = 0;
          for (const i of members) {
            if (rows[i]![j]! <= c) {
              GL += g[i]!;
              HL += h[i]!;
              nL++;
            }
          }
          if (nL < o.minLeaf || members.length - nL < o.minLeaf) continue;
          const GR = G - GL;
          const HR = H - HL;
          const gain = 0.5 * ((GL * GL) / (HL + o.lambda) + (GR * GR) / (HR + o.lambda) - (G * G) / (H + o.lambda));
          if (gain > best.gain) best = { gain, feature: j, threshold: c };
        }
      }
      if (best.feature < 0) return id;
      const left = grow(members.filter((i) => rows[i]![best.feature]! <= best.threshold), depth + 1);
      const right = grow(members.filter((i) => rows[i]![best.feature]! > best.threshold), depth + 1);
      nodes[id] = { feature: best.feature, threshold: best.threshold, left, right, value: 0, leaf: false };
      return id;
    };
    grow(Array.from({ length: n }, (_, i) => i), 0);
    const predict = (row: number[]): number => {
      let k = 0;
      while (!nodes[k]!.leaf) k = row[nodes[k]!.feature]! <= nodes[k]!.threshold ? nodes[k]!.left : nodes[k]!.right;
      return nodes[k]!.value;
    };
    for (let i = 0; i < n; i++) margin[i]! += predict(rows[i]!);
    trees.push(nodes);
  }
  return { trees, base };
}

export async function buildDemoModel(outDir: string, sampleDataDir: string): Promise<{ onnx: string; manifest: string; trainedOn: number }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-demo-model-'));
  const workspace = path.join(work, 'demo.sbw');
  const job = { id: 'demo-model', cancelled: false, throwIfCancelled: () => undefined, progress: () => undefined };
  await buildDemoWorkspace(workspace, sampleDataDir, job, { registerModels: false });
  const db = openWorkspace(workspace);
  try {
    const catalog = featureCatalog(db);
    const features = [...catalog.history, ...catalog.attributes];
    const changes = loadChanges(db);
    const outcomes = labelChanges(db);
    const cut = Math.floor(changes.length * TRAIN_FRACTION);
    const rows = buildFeatures(db, changes, features, outcomes, changes);
    // Train on float32-rounded values: ONNX compares in float32, and the splits must agree.
    const train = rows.slice(0, cut).map((r) => r.map((v) => Math.fround(v)));
    const labels = changes.slice(0, cut).map((c) => outcomes.get(c.id)!.label as number);
    const { trees, base } = trainBoostedTrees(train, labels);
    const medians = Object.fromEntries(features.map((f, j) => {
      const values = rows.map((r) => r[j]!).sort((a, b) => a - b);
      return [f, values[Math.floor(values.length / 2)]!];
    }));
    fs.mkdirSync(outDir, { recursive: true });
    const rate = labels.reduce((a, b) => a + b, 0) / labels.length;
    // Both shipped models share the manifest's shape: the same features, reference and cutoff.
    const write = (file: string, name: string, description: string, model: { trees: TreeNode[][]; base: number }): { onnx: string; manifest: string } => {
      const onnxFile = path.join(outDir, `${file}.onnx`);
      const manifestFile = path.join(outDir, `${file}.manifest.json`);
      fs.writeFileSync(onnxFile, treesToOnnx(model.trees, model.base, features.length));
      fs.writeFileSync(manifestFile, JSON.stringify({
        name, task: 'change-risk', description, input: 'features', features, output: 'risk',
        threshold: Math.round(rate * 1000) / 1000, reference: medians, trainedUntil: changes[cut]!.ts,
      }, null, 2) + '\n');
      return { onnx: onnxFile, manifest: manifestFile };
    };
    const { onnx, manifest } = write('demo-risk-gbdt', 'demo-gbdt', `Gradient-boosted trees (${trees.length} trees, depth 3) trained on the first ${Math.round(TRAIN_FRACTION * 100)} % of the demo's changes (before ${new Date(changes[cut]!.ts).toISOString().slice(0, 10)})`, { trees, base });
    // The deliberately bad candidate: the same learner on the same rows, but with the outcomes
    // shuffled (a seeded Fisher–Yates), so whatever it learns is noise. Gates must fail it.
    const shuffled = [...labels];
    let seed = 20260901;
    const next = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const bad = trainBoostedTrees(train, shuffled, { trees: 60 });
    write('demo-risk-shuffled', 'demo-shuffled', `A deliberately bad candidate: the same trees trained on the same changes with their outcomes shuffled (${bad.trees.length} trees)`, bad);
    return { onnx, manifest, trainedOn: cut };
  } finally {
    db.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  console.log(JSON.stringify(await buildDemoModel(path.join(here, 'models'), path.join(here, 'demo'))));
}
