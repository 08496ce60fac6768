import fs from 'node:fs';
import path from 'node:path';
import { measured } from './measure.js';

/**
 * A long telemetry CSV of the size asked for (5 GB by default: about 105M points), imported in its
 * own process with peak RSS sampled from /proc, and the sqlite3 shell's .import of the same file
 * beside it. Opt-in (`npm run bench -- --only big-import [--gigabytes N]`): it takes minutes and
 * about three times the file's size in disk.
 */

const SERVICES = 4;
const METRICS = 5;
const T0 = Date.UTC(2025, 0, 1);
const BYTES_PER_POINT = 48; // `2025-01-01T00:00:00.000Z,svc-0,metric_0,100.000\n`

async function generate(file: string, steps: number): Promise<void> {
  const out = fs.createWriteStream(file);
  const drained = (): Promise<void> => new Promise((resolve) => out.once('drain', resolve));
  out.write('timestamp,service,metric,value\n');
  let lines: string[] = [];
  for (let t = 0; t < steps; t++) {
    const ts = new Date(T0 + t * 60_000).toISOString();
    for (let s = 0; s < SERVICES; s++) for (let m = 0; m < METRICS; m++) lines.push(`${ts},svc-${s},metric_${m},${(100 + s * 10 + m + Math.sin(t / 60) * 5).toFixed(3)}\n`);
    // Wait for the disk: the file is far larger than memory should ever hold.
    if (lines.length >= 20_000) {
      if (!out.write(lines.join(''))) await drained();
      lines = [];
    }
  }
  out.write(lines.join(''));
  await new Promise<void>((resolve) => out.end(resolve));
}

export async function bigImportBench(work: string, root: string, gigabytes: number): Promise<Record<string, unknown>> {
  const steps = Math.round((gigabytes * 1e9) / BYTES_PER_POINT / (SERVICES * METRICS));
  const file = path.join(work, 'big.csv');
  await generate(file, steps);
  const bytes = fs.statSync(file).size;
  const points = steps * SERVICES * METRICS;
  const run = await measured(process.execPath, ['--import', 'tsx', path.join(root, 'test/bench/import-child.ts'), file]);
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { state: string; rows: number; seconds: number; rowsPerSecond: number };
  if (r.rows !== points) throw new Error(`imported ${r.rows} of ${points} points (${r.state})`);
  const db = path.join(work, 'big-shell.db');
  const shell = await measured('sqlite3', [db], { input: `PRAGMA journal_mode=WAL;\nCREATE TABLE raw(timestamp TEXT, service TEXT, metric TEXT, value REAL);\n.mode csv\n.import --skip 1 ${file} raw\n` });
  for (const f of [file, db, `${db}-wal`]) fs.rmSync(f, { force: true });
  return {
    gigabytes: Math.round(bytes / 1e7) / 100, points,
    ours: { rowsPerSecond: Math.round(r.rowsPerSecond), seconds: Math.round(r.seconds), peakRssMb: Math.round(run.peakRssMb), budgetPeakRssMb: 300 },
    sqlite3Shell: { rowsPerSecond: Math.round(points / shell.seconds), seconds: Math.round(shell.seconds), peakRssMb: Math.round(shell.peakRssMb) },
  };
}
