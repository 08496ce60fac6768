/**
 * Detection benchmarks: a detection run over 10 million telemetry points with the z-score
 * built-in and with an ONNX window model (the engine's own run path: reading points, scoring,
 * alerts, storing scores), and NAB scoring of one detector's results over the whole corpus.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { runDetection } from '../../electron/engine/detection/replay-detection.js';
import { addDetector, addOnnxDetector } from '../../electron/engine/models/registry.js';
import { scoreDetector } from '../../electron/engine/nab/corpus.js';
import { windowZModel } from '../helpers/onnx-models.js';

const SERVICES = 10;
const PER_SERVICE = 1_000_000;
const STEP = 300_000;
const job = { id: 'bench', cancelled: false, throwIfCancelled: () => undefined, progress: () => undefined };
const r2 = (x: number): number => Math.round(x * 100) / 100;

export async function detectionBench(nabDir: string | null): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-bench-det-'));
  const file = path.join(dir, 'detection.sbw');
  const db = openWorkspace(file, { create: true });
  const start = Date.UTC(2016, 0, 1);
  const t0 = performance.now();
  db.exec(`INSERT INTO sources (kind, format, file_name, sha256, byte_size, rows_accepted, rows_rejected, options, report, imported_at)
    VALUES ('telemetry', 'csv', 'bench', 'x', 0, 0, 0, '{}', '{}', 0)`);
  const insert = db.prepare('INSERT INTO points (series_id, ts, value) VALUES (?, ?, ?)');
  for (let s = 1; s <= SERVICES; s++) {
    db.prepare('INSERT INTO services (name) VALUES (?)').run(`svc-${s}`);
    db.prepare("INSERT INTO series (service_id, metric) VALUES (?, 'latency_ms')").run(s);
    db.transaction(() => {
      for (let i = 0; i < PER_SERVICE; i++) insert.run(s, start + i * STEP, 100 + 20 * Math.sin(i / 288) + ((i * 7919) % 13) + (i % 50_000 === 0 ? 200 : 0));
    })();
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  const points = SERVICES * PER_SERVICE;

  const run = async (modelId: number): Promise<{ seconds: number; pointsPerSecond: number; alerts: number; processPeakRssMb: number }> => {
    const t = performance.now();
    const info = await runDetection(db, { models: [modelId] }, job);
    const seconds = (performance.now() - t) / 1000;
    const alerts = db.prepare('SELECT count(*) FROM detection_alerts WHERE run_id = ?').pluck().get(info.id) as number;
    return { seconds: r2(seconds), pointsPerSecond: Math.round(points / seconds), alerts, processPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
  };
  const z = addDetector(db, { name: 'zscore', spec: { kind: 'zscore', metrics: ['latency_ms'], window: 288 }, threshold: 6 });
  const zscore = await run(z.id);
  const onnx = await addOnnxDetector(db, windowZModel(32), { name: 'window-z', input: 'window', output: 'score', window: { metrics: ['latency_ms'], length: 32, normalisation: 'none' }, threshold: 4 });
  const window = await run(onnx.id);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });

  let nab: Record<string, unknown> | null = null;
  if (nabDir && fs.existsSync(nabDir)) {
    const time = (fn: () => void): number => {
      const t = performance.now();
      fn();
      return r2((performance.now() - t) / 1000);
    };
    const results = path.join(nabDir, 'results', 'numenta');
    nab = {
      files: 58, rows: 365_558,
      storedThresholdsSeconds: time(() => scoreDetector(nabDir, results, { thresholdsFile: path.join(nabDir, 'config', 'thresholds.json') })),
      optimisedSeconds: time(() => scoreDetector(nabDir, results, {})),
    };
  }
  return {
    points, services: SERVICES, buildSeconds: r2(buildSeconds),
    // maxRSS cannot be reset: in a full `npm run bench` it includes the benches that ran before.
    memoryNote: 'processPeakRssMb is the bench process\'s peak so far; run `npm run bench -- --only detection` for the detectors\' own',
    zscore: { ...zscore, detector: 'rolling z-score, window 288' },
    // A window z-score includes the point itself, so it cannot exceed √(W−1) ≈ 5.6: threshold 4.
    onnxWindow: { ...window, detector: 'ONNX window model, 32 steps, batch 4096' },
    nab,
  };
}
