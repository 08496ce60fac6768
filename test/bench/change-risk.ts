/**
 * Change-risk benchmarks: a 100k-change shadow replay with an ONNX tree model, beside raw batched
 * onnxruntime inference on the same feature matrix; and a scorecard with 1000 resamples over
 * 100k predictions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createEngine } from '../../electron/engine/engine.js';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { buildFeatureColumns, loadChanges } from '../../electron/engine/features/catalog.js';
import { runSubjects, SubjectTable, suggestionWriter } from '../../electron/engine/runs/suggestion-writer.js';
import { labelChanges } from '../../electron/engine/features/outcomes.js';
import { treesToOnnx, type TreeNode } from '../../electron/engine/models/onnx-writer.js';
import { sortPredictions } from '../../shared/metrics/classification.js';
import { bootstrapMetrics } from '../../shared/metrics/bootstrap.js';
import { bootstrapParallel } from '../../electron/engine/metrics/parallel-bootstrap.js';

const N = 100_000;
const FEATURES = ['lines_added', 'lines_deleted', 'files_changed', 'tests_changed', 'hour_of_day', 'service_changes_7d', 'author_changes_90d', 'service_tier'];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

/** 200 random depth-5 trees: enough work per row to look like a real gradient-boosted model. */
function forest(random: () => number): TreeNode[][] {
  const trees: TreeNode[][] = [];
  for (let t = 0; t < 200; t++) {
    const nodes: TreeNode[] = [];
    const grow = (depth: number): number => {
      const id = nodes.length;
      nodes.push({ feature: 0, threshold: 0, left: 0, right: 0, value: 0, leaf: true });
      if (depth === 5) nodes[id] = { feature: 0, threshold: 0, left: 0, right: 0, value: (random() - 0.5) * 0.2, leaf: true };
      else {
        const feature = Math.floor(random() * FEATURES.length);
        const left = grow(depth + 1);
        const right = grow(depth + 1);
        nodes[id] = { feature, threshold: random() * 50, left, right, value: 0, leaf: false };
      }
      return id;
    };
    grow(0);
    trees.push(nodes);
  }
  return trees;
}

/**
 * CPU time of each of this process's threads so far, in ms (Linux: /proc/self/task/TID/stat, in
 * clock ticks of 10 ms); empty elsewhere. A replay's threads share the machine's cores, so what it
 * can reach is bounded by the CPU its parts take together, whatever the overlap.
 */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

export async function changeRiskBench() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-bench-cr-'));
  const random = lcg(7);
  const start = Date.UTC(2024, 0, 1);
  const lines = ['id,service,timestamp,author,lines_added,lines_deleted,files_changed,tests_changed,outcome'];
  for (let i = 0; i < N; i++) {
    const la = Math.round(Math.exp(random() * 7));
    lines.push(`c${i},svc${i % 20},${start + i * 300_000},dev${Math.floor(random() * 300)},${la},${Math.round(la * random())},${1 + Math.floor(random() * 20)},${Math.floor(random() * 4)},${random() < 0.1 ? 1 : 0}`);
  }
  const csv = path.join(dir, 'changes.csv');
  fs.writeFileSync(csv, lines.join('\n') + '\n');
  const modelFile = path.join(dir, 'trees.onnx');
  fs.writeFileSync(modelFile, treesToOnnx(forest(random), -2, FEATURES.length));

  // As in serve mode, where an SRE runs replays: the threads' code is readied when the workspace opens.
  const engine = createEngine({ workspacesDir: dir, warmThreads: true });
  const workspace = path.join(dir, 'bench.sbw');
  await engine.call('workspace.openPath', { path: workspace, create: true });
  await engine.call('import.startPath', { path: csv, kind: 'changes', timeUnit: 'ms' }).then(({ jobId }) => engine.jobs.wait(jobId));
  const model = await engine.call('models.addOnnxPath', { path: modelFile, manifest: { name: 'trees', input: 'features', features: FEATURES, output: 'risk' } });

  type Timings = { loadMs: number; featuresMs: number; inferenceMs: number; storeMs: number; modelMs: number };
  const replay = async (): Promise<{ seconds: number; timings: Timings; cpuSeconds: number | null }> => {
    const before = threadCpu();
    // Threads that end with the replay (its writer) are sampled while they run.
    const seen = new Map(before);
    const sampler = setInterval(() => {
      for (const [tid, ms] of threadCpu()) seen.set(tid, ms);
    }, 10);
    const t0 = performance.now();
    const { jobId } = await engine.call('runs.start', { models: [model.id], batchSize: 1024 });
    const job = await engine.jobs.wait(jobId);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    for (const [tid, ms] of threadCpu()) seen.set(tid, ms);
    if (job.state !== 'done') throw new Error(`replay ${job.state}: ${job.error?.message}`);
    const cpuMs = before.size === 0 ? null : [...seen].reduce((sum, [tid, ms]) => sum + ms - (before.get(tid) ?? 0), 0);
    return { seconds, timings: (job.result as { manifest: { timings: Timings } }).manifest.timings, cpuSeconds: cpuMs === null ? null : cpuMs / 1000 };
  };
  // The first replay of a process also pays for compiling the code it runs (JIT): measured first,
  // before anything here has run that code.
  const first = await replay();

  // The same feature matrix scored by onnxruntime directly, in the same batches. Built before the
  // replays so that each replay can be paired with a raw pass right after it: this machine's speed
  // wanders by a third within a minute, so a ratio of two medians taken a minute apart moves more
  // than any change to the code does. On the way, each part of a replay that is not inference, alone:
  // reading the changes and their outcomes, building the features, writing 100k suggestions (into a
  // run deleted afterwards).
  const db = openWorkspace(workspace);
  const tRead = performance.now();
  const changes = loadChanges(db);
  const outcomes = labelChanges(db, undefined, changes);
  const readSeconds = (performance.now() - tRead) / 1000;
  const tf = performance.now();
  const columns = buildFeatureColumns(db, changes, FEATURES, outcomes, changes);
  const featureSeconds = (performance.now() - tf) / 1000;
  const scratchRun = Number(db.prepare("INSERT INTO runs (task, state, config, started_at) VALUES ('change-risk', 'failed', '{}', 0)").run().lastInsertRowid);
  const write = suggestionWriter(db, scratchRun, new SubjectTable(runSubjects(changes, changes.map((c) => outcomes.get(c.id)!))));
  const tw = performance.now();
  for (let s = 0; s < N; s += 1024) {
    const n = Math.min(1024, N - s);
    write({ modelId: model.id, start: s, scores: Float64Array.from({ length: n }, random), decisions: new Int8Array(n), latencies: new Float64Array(n), errors: new Array(n).fill(null), fallbackIds: new Int32Array(n), faults: new Array(n).fill(null) });
  }
  const storeSeconds = (performance.now() - tw) / 1000;
  db.prepare('DELETE FROM suggestions WHERE run_id = ?').run(scratchRun);
  db.close();
  const matrix = new Float32Array(changes.length * FEATURES.length);
  for (let i = 0; i < changes.length; i++) for (let j = 0; j < FEATURES.length; j++) matrix[i * FEATURES.length + j] = columns[j]![i]!;
  const session = await ort.InferenceSession.create(fs.readFileSync(modelFile), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const rawPass = async (): Promise<number> => {
    const tr = performance.now();
    for (let s = 0; s < changes.length; s += 1024) {
      const n = Math.min(1024, changes.length - s);
      await session.run({ features: new ort.Tensor('float32', matrix.subarray(s * FEATURES.length, (s + n) * FEATURES.length), [n, FEATURES.length]) });
    }
    return (performance.now() - tr) / 1000;
  };
  await rawPass(); // warms onnxruntime's code, as the engine's own session creation and first replay do

  // An SRE comparing models runs several replays: the budget's figure is the median of the next
  // three, each over the raw pass taken right after it.
  const pairs: Array<{ seconds: number; raw: number; timings: Timings; cpuSeconds: number | null }> = [];
  for (let k = 0; k < 3; k++) {
    const r = await replay();
    pairs.push({ ...r, raw: await rawPass() });
  }
  engine.close();
  await session.release();
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ratios = pairs.map((p) => p.seconds / p.raw);
  const replaySeconds = median(pairs.map((p) => p.seconds));
  const rawSeconds = median(pairs.map((p) => p.raw));
  const middle = [...pairs].sort((a, b) => a.seconds - b.seconds)[1]!;
  const timings = middle.timings;
  const firstReplaySeconds = first.seconds;

  // Scorecard: 1000 Poisson-bootstrap resamples over 100k predictions.
  const preds = Array.from({ length: N }, () => {
    const y = random() < 0.1 ? 1 : 0;
    return { score: Math.min(1, Math.max(0, 0.25 * y + 0.75 * random())), label: y as 0 | 1 };
  });
  // This machine's speed wanders (shared cores): report the best and the median of five.
  const sortedPreds = sortPredictions(preds);
  // What a scorecard does (resamples split across worker threads, startup included), and the
  // same resamples on one thread for comparison.
  const times: number[] = [];
  let threads = 1;
  const tFirst = performance.now();
  await bootstrapParallel(sortedPreds, 0.5, undefined, { resamples: 1000 });
  const firstCall = (performance.now() - tFirst) / 1000; // includes starting the threads
  for (let k = 0; k < 5; k++) {
    const ts = performance.now();
    threads = (await bootstrapParallel(sortedPreds, 0.5, undefined, { resamples: 1000 })).threads;
    times.push((performance.now() - ts) / 1000);
  }
  times.sort((a, b) => a - b);
  const oneThread: number[] = [];
  for (let k = 0; k < 3; k++) {
    const ts = performance.now();
    bootstrapMetrics(sortedPreds, 0.5, undefined, { resamples: 1000 });
    oneThread.push((performance.now() - ts) / 1000);
  }
  oneThread.sort((a, b) => a - b);
  fs.rmSync(dir, { recursive: true, force: true });
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    replay: {
      changes: N, model: '200 trees, depth 5, 8 features', replaySeconds: r2(replaySeconds), rawInferenceSeconds: r2(rawSeconds),
      // Each replay over the raw pass right after it; the median of the three.
      ratioToRaw: r2(median(ratios)), pairedRatios: ratios.map(r2), budgetRatio: 1.5,
      firstReplaySeconds: r2(firstReplaySeconds), firstRatioToRaw: r2(firstReplaySeconds / rawSeconds),
      // The replay's own thread: reading, features, waiting for the model (inference) and for the
      // writer (store); the model scores and the writer stores on threads of their own. modelMs is
      // the time the model took where it ran, beside the reading and the writing: over raw, what
      // sharing two cores with them costs it.
      replayTimingsMs: timings, modelRatioToRaw: r2(timings.modelMs / 1000 / rawSeconds),
      // Each part alone, on one thread. A replay must do all of it; on this machine's cores it can
      // take no less than the sum divided among them, however well it overlaps the parts.
      partsSeconds: { read: r2(readSeconds), features: r2(featureSeconds), inference: r2(rawSeconds), store: r2(storeSeconds) },
      // The CPU every thread of the process spent during the middle replay, over its wall time: how
      // many cores it kept busy (this machine has lowerBound.cores).
      // ratioIfSpread: that CPU spread perfectly over the cores, against raw — no overlap gets below it.
      cpu: middle.cpuSeconds === null ? null : {
        seconds: r2(middle.cpuSeconds), wallSeconds: r2(middle.seconds), coresBusy: r2(middle.cpuSeconds / middle.seconds),
        ratioIfSpread: r2(middle.cpuSeconds / os.cpus().length / middle.raw),
      },
      lowerBound: {
        cores: os.cpus().length,
        seconds: r2((readSeconds + featureSeconds + rawSeconds + storeSeconds) / os.cpus().length),
        ratioToRaw: r2((readSeconds + featureSeconds + rawSeconds + storeSeconds) / os.cpus().length / rawSeconds),
      },
    },
    scorecard: { predictions: N, resamples: 1000, threads, firstCallSeconds: r2(firstCall), bestSeconds: r2(times[0]!), medianSeconds: r2(times[2]!), oneThreadMedianSeconds: r2(oneThread[1]!), budgetSeconds: 1 },
  };
}
