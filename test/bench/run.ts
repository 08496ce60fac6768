/**
 * `npm run bench`: speed and memory, measured, never asserted in tests. Writes one JSON document
 * to stdout and to bench-results/bench.json. Budgets from DESIGN.md §10 are reported beside the
 * figures so a regression is visible at a glance.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { refreshRollups } from '../../electron/engine/db/rollups.js';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { queryTimeline } from '../../electron/engine/queries/timeline.js';
import { writeDemo } from '../../sample-data/generate.js';
import { changeRiskBench } from './change-risk.js';
import { detectionBench } from './detection.js';
import { formatsBench } from './formats.js';
import { bigImportBench } from './big-import.js';
import { measured } from './measure.js';
import { DEFAULT_OPTIONS } from '../../sample-data/generator.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-bench-'));
const log = (text: string): void => void process.stderr.write(`${text}\n`);

async function telemetryFile(copies: number): Promise<{ file: string; rows: number; bytes: number }> {
  const out = path.join(work, `set-${copies}`);
  const summary = await writeDemo(out, { ...DEFAULT_OPTIONS, serviceCopies: copies }, true);
  const file = path.join(out, 'telemetry.csv');
  return { file, rows: summary.telemetryRows, bytes: fs.statSync(file).size };
}

async function importBench(copies: number) {
  const set = await telemetryFile(copies);
  log(`telemetry import: ${set.rows.toLocaleString('en-US')} rows, ${(set.bytes / 1e6).toFixed(0)} MB`);
  const ours = await measured(process.execPath, ['--import', 'tsx', path.join(root, 'test/bench/import-child.ts'), set.file]);
  const result = JSON.parse(ours.stdout.trim().split('\n').pop()!) as { rows: number; seconds: number; rowsPerSecond: number; peakRssMb: number };
  // The sqlite3 shell's .import into a plain table with no keys: the floor any importer is held to.
  const db = path.join(work, `shell-${copies}.db`);
  const shell = await measured('sqlite3', [db], { input: `PRAGMA journal_mode=WAL;\nCREATE TABLE raw(timestamp TEXT, service TEXT, metric TEXT, value REAL);\n.mode csv\n.import --skip 1 ${set.file} raw\n` });
  const shellRows = Number(spawnSync('sqlite3', [db, 'SELECT count(*) FROM raw'], { encoding: 'utf8' }).stdout.trim());
  return {
    rows: set.rows, megabytes: Math.round(set.bytes / 1e5) / 10,
    shadowbench: { rowsPerSecond: Math.round(result.rowsPerSecond), seconds: round(result.seconds), peakRssMb: round(ours.peakRssMb) },
    sqlite3Shell: { rowsPerSecond: Math.round(shellRows / shell.seconds), seconds: round(shell.seconds), peakRssMb: round(shell.peakRssMb) },
    ratioToShell: round(result.rowsPerSecond / (shellRows / shell.seconds)),
  };
}

function timelineBench() {
  // One series of a million points (about 10 years at 5 minutes), queried whole and zoomed.
  const file = path.join(work, 'timeline.sbw');
  const db = openWorkspace(file, { create: true });
  const start = Date.UTC(2016, 0, 1);
  db.exec(`INSERT INTO sources (kind, format, file_name, sha256, byte_size, rows_accepted, rows_rejected, options, report, imported_at)
    VALUES ('telemetry', 'csv', 'bench', 'x', 0, 0, 0, '{}', '{}', 0)`);
  db.exec("INSERT INTO services (name) VALUES ('svc'); INSERT INTO series (service_id, metric) VALUES (1, 'latency')");
  const insert = db.prepare('INSERT INTO points (series_id, ts, value) VALUES (1, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 1_000_000; i++) insert.run(start + i * 300_000, 100 + 20 * Math.sin(i / 288) + (i % 97));
    refreshRollups(db, 1, start, start + 999_999 * 300_000);
  })();
  const time = (fn: () => void): number => {
    const runs: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      fn();
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    return round(runs[Math.floor(runs.length / 2)]!);
  };
  const whole = time(() => queryTimeline(db, { service: 'svc', maxBuckets: 1200 }));
  const week = time(() => queryTimeline(db, { service: 'svc', from: start + 500_000 * 300_000, until: start + 500_000 * 300_000 + 7 * 86_400_000, maxBuckets: 1200 }));
  db.close();
  return { points: 1_000_000, wholeRangeMedianMs: whole, oneWeekMedianMs: week, budgetMs: 150 };
}

// `npm run bench -- --only timeline` runs one part (import, formats, timeline, change-risk, detection).
// `--only big-import [--gigabytes 5]` imports a generated multi-gigabyte CSV; it is never part of the default run.
const { values: args } = parseArgs({ options: { only: { type: 'string' }, gigabytes: { type: 'string' } } });
const wants = (part: string): boolean => args.only === undefined || args.only === part;
const results = {
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
  date: new Date().toISOString(),
  ...(wants('import') ? { telemetryImport: [await importBench(0), await importBench(1)] } : {}),
  // Formats at two sizes: the same points through each importer, and whether memory grows with size.
  ...(wants('formats') ? { importFormats: [await formatsBench(work, root, 12_500), await formatsBench(work, root, 50_000)] } : {}),
  ...(wants('timeline') ? { timelineQuery: timelineBench() } : {}),
  ...(wants('change-risk') ? { changeRisk: await changeRiskBench() } : {}),
  ...(wants('detection') ? { detection: await detectionBench(path.resolve(root, '../shared/data/nab')) } : {}),
  ...(args.only === 'big-import' ? { bigImport: await bigImportBench(work, root, Number(args.gigabytes ?? 5)) } : {}),
};
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench-results', 'bench.json'), JSON.stringify(results, null, 2));
console.log(JSON.stringify(results, null, 2));

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
