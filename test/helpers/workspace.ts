import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createEngine, type Engine } from '../../electron/engine/engine.js';
import type { ImportReport } from '../../shared/contract/records.js';
import type { ImportOptionsInput } from '../../shared/contract/methods.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const SHARED_DATA = path.resolve(REPO, '../shared/data');

/** Folders made by `tempDir` in this test file; `test/helpers/cleanup.ts` removes them after its last test. */
export const madeDirs: string[] = [];

export function tempDir(prefix = 'sbw-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** An engine with a fresh workspace open; `dir` holds any files the test writes. */
export async function freshEngine(): Promise<{ engine: Engine; dir: string; workspace: string }> {
  const dir = tempDir();
  const engine = createEngine({ workspacesDir: path.join(dir, 'workspaces') });
  const workspace = path.join(dir, 'test.sbw');
  await engine.call('workspace.openPath', { path: workspace, create: true });
  return { engine, dir, workspace };
}

export function writeFile(dir: string, name: string, content: string | Buffer, gzip = false): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(content) : content);
  return file;
}

export async function importPath(engine: Engine, file: string, options: ImportOptionsInput): Promise<ImportReport> {
  const { jobId } = await engine.call('import.startPath', { ...options, path: file });
  const job = await engine.jobs.wait(jobId);
  if (job.state !== 'done') throw new Error(`import ${job.state}: ${job.error?.message}`);
  return job.result as ImportReport;
}

/** `n` changes on one service, `stepMs` apart, every fifth one a failure: a small run's worth. */
export function changesCsv(n: number, stepMs = 3_600_000, start = Date.UTC(2026, 8, 1)): string {
  const rows = Array.from({ length: n }, (_, i) => `c${i},api,${start + i * stepMs},${10 + (i % 97) * 7},${i % 5 === 0 ? 1 : 0}`);
  return `id,service,timestamp,lines_added,outcome\n${rows.join('\n')}\n`;
}

/** Trains the heuristic baseline and runs it once over every change; the model's id. */
export async function heuristicRun(engine: Engine): Promise<number> {
  const m = await engine.call('models.train', { name: 'rules', kind: 'heuristic' });
  await engine.jobs.wait((await engine.call('runs.start', { models: [m.id] })).jobId);
  return m.id;
}

/** A run's report, through its job as the app and the CLI make it. */
export async function renderReport(engine: Engine, input: { runId: number; format: 'html' | 'md'; gate?: unknown; championId?: number | null }): Promise<{ fileName: string; content: string }> {
  const { jobId } = await engine.call('reports.start', input);
  const job = await engine.jobs.wait(jobId);
  if (job.state !== 'done') throw new Error(`report ${job.state}: ${job.error?.message}`);
  return job.result as { fileName: string; content: string };
}
