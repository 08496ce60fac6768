// One telemetry import in its own process, so its peak RSS is its own. Prints one JSON line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEngine } from '../../electron/engine/engine.js';
import type { ImportReport } from '../../shared/contract/records.js';

const [file] = process.argv.slice(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-bench-'));
const engine = createEngine({ workspacesDir: dir });
await engine.call('workspace.openPath', { path: path.join(dir, 'bench.sbw'), create: true });
const started = performance.now();
const { jobId } = await engine.call('import.startPath', { path: file!, kind: 'telemetry' });
const job = await engine.jobs.wait(jobId);
const seconds = (performance.now() - started) / 1000;
const report = job.result as ImportReport;
engine.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ state: job.state, rows: report.rowsAccepted, seconds, rowsPerSecond: report.rowsAccepted / seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
