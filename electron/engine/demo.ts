import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownerGone } from './runs/recovery.js';
import type { RecordKind } from '../../shared/contract/records.js';
import { openWorkspace } from './db/workspace.js';
import { EngineFailure } from './errors.js';
import { importFile } from './importers/import-file.js';
import type { JobContext } from './jobs/jobs.js';
import { addDetector, addOnnxModel } from './models/registry.js';
import { appendAudit } from './audit/audit.js';
import type { AddDetectorInput } from '../../shared/contract/detection.js';

/**
 * The built-in detectors the demo starts with. The static error-rate rule is what a team would
 * write by hand; the statistical ones adapt to each service. Thresholds were read off the demo's
 * alert-budget sweep.
 */
export const DEMO_DETECTORS: AddDetectorInput[] = [
  { name: 'zscore-1d', spec: { kind: 'zscore', metrics: ['latency_p99_ms', 'error_rate_pct'], window: 288 }, threshold: 6 },
  { name: 'ewma', spec: { kind: 'ewma', metrics: ['latency_p99_ms', 'error_rate_pct'], alpha: 0.02 }, threshold: 6 },
  { name: 'week-over-week', spec: { kind: 'week-over-week', metrics: ['latency_p99_ms', 'error_rate_pct'], window: 288 }, threshold: 6 },
  { name: 'static-error-rate', spec: { kind: 'static', metric: 'error_rate_pct', value: 3, steps: 2 } },
];
import type { ModelInfo, ModelManifestInput } from '../../shared/contract/models.js';

/** The demo inputs, in the order a user would import them. */
export const DEMO_FILES: ReadonlyArray<{ file: string; kind: RecordKind }> = [
  { file: 'services.csv', kind: 'services' },
  { file: 'telemetry.csv.gz', kind: 'telemetry' },
  { file: 'changes.csv', kind: 'changes' },
  { file: 'incidents.csv', kind: 'incidents' },
  { file: 'alerts.csv', kind: 'alerts' },
];

/**
 * Builds the demo workspace through the same importers a user would use. It is built beside the
 * target and renamed into place, so an interrupted build never leaves a half-made demo behind.
 */
export const DEMO_MARK = 'demo.built_at';

/** Whether the file at `file` is a demo workspace this builder made (or none is there). */
export function isDemoOrAbsent(file: string): boolean {
  if (!fs.existsSync(file)) return true;
  try {
    const db = openWorkspace(file, { readonly: true });
    try {
      return db.prepare('SELECT 1 FROM meta WHERE key = ?').get(DEMO_MARK) !== undefined;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

export async function buildDemoWorkspace(target: string, sampleDataDir: string, job: JobContext, options: { registerModels?: boolean; actor?: string } = {}): Promise<void> {
  // The demo's imports and models go in its audit log like anyone's: the log starts at the beginning.
  const actor = options.actor ?? 'demo';
  const audit = (action: string, subject: string, payload: unknown): void => {
    const db = openWorkspace(partial);
    try {
      appendAudit(db, { actor, action, subject, payload });
    } finally {
      db.close();
    }
  };
  const modelAdded = (db: ReturnType<typeof openWorkspace>, m: ModelInfo): void => {
    appendAudit(db, { actor, action: 'model.add', subject: `model ${m.name} v${m.version}`, payload: { id: m.id, task: m.task, kind: m.kind, sha256: m.sha256, demo: true } });
  };
  const files = DEMO_FILES.map((d) => ({ ...d, path: path.join(sampleDataDir, d.file) }));
  for (const f of files) {
    if (!fs.existsSync(f.path)) throw new EngineFailure('not_found', `Demo input ${f.path} is missing; run npm run demo:generate`);
  }
  const total = files.reduce((sum, f) => sum + fs.statSync(f.path).size, 0);
  const partial = `${target}.building-${process.pid}`;
  // A build killed part-way left its file under its own pid: sweep those whose process is gone.
  const dir = path.dirname(target);
  const prefix = `${path.basename(target)}.building-`;
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (pid === process.pid || ownerGone(`${os.hostname()}:${pid}`)) fs.rmSync(path.join(dir, name), { force: true });
  }
  {
    // Marked as the demo's, so rebuilding it never replaces a workspace someone else made under its name.
    const db = openWorkspace(partial, { create: true });
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(DEMO_MARK, String(Date.now()));
    db.close();
  }
  let done = 0;
  try {
    for (const f of files) {
      const size = fs.statSync(f.path).size;
      const scoped: JobContext = {
        id: job.id,
        get cancelled() {
          return job.cancelled;
        },
        throwIfCancelled: () => job.throwIfCancelled(),
        progress: (u) => job.progress({ ...u, fraction: (done + (u.fraction ?? 0) * size) / total, message: `${f.file}: ${u.message}` }),
      };
      job.progress({ fraction: done / total, message: `importing ${f.file}` });
      const report = await importFile({
        workspacePath: partial, filePath: f.path, fileName: f.file, kind: f.kind, mapping: {}, timeUnit: 'auto', acceptValidRows: false,
      }, scoped);
      if (report.status !== 'imported') throw new EngineFailure('input_error', `Demo input ${f.file} did not import: ${report.message}`);
      audit('import.finish', `${f.kind} from ${f.file} (demo)`, { kind: f.kind, rows: report.rowsAccepted, demo: true });
      done += size;
    }
    // The shipped demo models (a good candidate and a deliberately bad one), registered the way a
    // user would add an ONNX file.
    const modelsDir = path.join(sampleDataDir, '..', 'models');
    const modelFiles = (options.registerModels ?? true) && fs.existsSync(modelsDir) ? fs.readdirSync(modelsDir).filter((f) => f.endsWith('.onnx')).sort() : [];
    if (modelFiles.length > 0) {
      job.progress({ fraction: 1, message: 'registering the demo ONNX models' });
      const db = openWorkspace(partial);
      try {
        for (const f of modelFiles) {
          const modelFile = path.join(modelsDir, f);
          const manifest = JSON.parse(fs.readFileSync(modelFile.replace(/\.onnx$/, '.manifest.json'), 'utf8')) as ModelManifestInput;
          modelAdded(db, await addOnnxModel(db, fs.readFileSync(modelFile), manifest));
        }
      } finally {
        db.close();
      }
    }
    if (options.registerModels ?? true) {
      const db = openWorkspace(partial);
      try {
        for (const d of DEMO_DETECTORS) modelAdded(db, addDetector(db, d));
      } finally {
        db.close();
      }
    }
    // Fold the WAL into the main file before the rename so the demo is one self-contained file.
    const db = openWorkspace(partial);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    fs.rmSync(target, { force: true });
    for (const suffix of ['-wal', '-shm']) fs.rmSync(`${target}${suffix}`, { force: true });
    fs.renameSync(partial, target);
  } finally {
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${partial}${suffix}`, { force: true });
  }
}
