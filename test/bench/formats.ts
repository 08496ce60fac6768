import { spawnSync } from 'node:child_process';
import { measured } from './measure.js';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Import throughput by format on the same synthetic telemetry (series × steps, one point a
 * minute), each import in its own process with its peak RSS sampled from /proc; the sqlite3
 * shell's .import of the long CSV beside it; and the long CSV at two sizes, to show memory is flat.
 */

const SERVICES = 4;
const METRICS = 5;

const T0 = Date.UTC(2025, 0, 1);
const valueOf = (s: number, m: number, t: number): string => (100 + s * 10 + m + Math.sin(t / 60) * 5).toFixed(3);

/** Writes through a buffered stream: the files are larger than we want to hold as strings. */
async function write(file: string, produce: (out: (text: string) => void) => void): Promise<number> {
  const stream = fs.createWriteStream(file);
  let buffer: string[] = [];
  let size = 0;
  const out = (text: string): void => {
    buffer.push(text);
    size += text.length;
    if (size > 1 << 20) {
      stream.write(buffer.join(''));
      buffer = [];
      size = 0;
    }
  };
  produce(out);
  stream.write(buffer.join(''));
  await new Promise<void>((resolve) => stream.end(resolve));
  return fs.statSync(file).size;
}

export async function formatsBench(work: string, root: string, steps: number): Promise<Record<string, unknown>> {
  const series = SERVICES * METRICS;
  const points = series * steps;
  const files: Record<string, string> = {
    longCsv: path.join(work, 'long.csv'), longCsvLabels: path.join(work, 'long-labels.csv'), wideCsv: path.join(work, 'wide.csv'), prometheusJson: path.join(work, 'prometheus.json'), otlpJson: path.join(work, 'otlp.ndjson'),
  };
  await write(files.longCsv!, (out) => {
    out('timestamp,service,metric,value\n');
    for (let t = 0; t < steps; t++) for (let s = 0; s < SERVICES; s++) for (let m = 0; m < METRICS; m++) out(`${new Date(T0 + t * 60_000).toISOString()},svc-${s},metric_${m},${valueOf(s, m, t)}\n`);
  });
  // The same with two label columns (what a Prometheus query exported to CSV carries): one series per row's labels.
  await write(files.longCsvLabels!, (out) => {
    out('timestamp,service,metric,value,instance,region\n');
    for (let t = 0; t < steps; t++) for (let s = 0; s < SERVICES; s++) for (let m = 0; m < METRICS; m++) out(`${new Date(T0 + t * 60_000).toISOString()},svc-${s},metric_${m},${valueOf(s, m, t)},10.0.0.${s}:9100,eu-west-1\n`);
  });
  await write(files.wideCsv!, (out) => {
    const columns: string[] = [];
    for (let s = 0; s < SERVICES; s++) for (let m = 0; m < METRICS; m++) columns.push(`svc-${s}/metric_${m}`);
    out(`time,${columns.join(',')}\n`);
    for (let t = 0; t < steps; t++) {
      const row: string[] = [new Date(T0 + t * 60_000).toISOString()];
      for (let s = 0; s < SERVICES; s++) for (let m = 0; m < METRICS; m++) row.push(valueOf(s, m, t));
      out(`${row.join(',')}\n`);
    }
  });
  await write(files.prometheusJson!, (out) => {
    out('{"status":"success","data":{"resultType":"matrix","result":[');
    for (let s = 0; s < SERVICES; s++) {
      for (let m = 0; m < METRICS; m++) {
        out(`${s + m > 0 ? ',' : ''}{"metric":{"__name__":"metric_${m}","service":"svc-${s}","instance":"10.0.0.${s}:9100"},"values":[`);
        for (let t = 0; t < steps; t++) out(`${t > 0 ? ',' : ''}[${(T0 + t * 60_000) / 1000},"${valueOf(s, m, t)}"]`);
        out(']}');
      }
    }
    out(']}}\n');
  });
  await write(files.otlpJson!, (out) => {
    // What an OTLP exporter sends: one request per export interval (here 60 steps), one per line.
    for (let t0 = 0; t0 < steps; t0 += 60) {
      const resources: string[] = [];
      for (let s = 0; s < SERVICES; s++) {
        const metrics: string[] = [];
        for (let m = 0; m < METRICS; m++) {
          const dp: string[] = [];
          for (let t = t0; t < Math.min(steps, t0 + 60); t++) dp.push(`{"attributes":[{"key":"host","value":{"stringValue":"h${s}"}}],"timeUnixNano":"${BigInt(T0 + t * 60_000) * 1_000_000n}","asDouble":${valueOf(s, m, t)}}`);
          metrics.push(`{"name":"metric_${m}","gauge":{"dataPoints":[${dp.join(',')}]}}`);
        }
        resources.push(`{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc-${s}"}}]},"scopeMetrics":[{"scope":{"name":"bench"},"metrics":[${metrics.join(',')}]}]}`);
      }
      out(`{"resourceMetrics":[${resources.join(',')}]}\n`);
    }
  });
  const child = path.join(root, 'test/bench/import-child.ts');
  const result: Record<string, unknown> = { points, series };
  for (const [name, file] of Object.entries(files)) {
    const run = await measured(process.execPath, ['--import', 'tsx', child, file]);
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { state: string; rows: number; seconds: number; rowsPerSecond: number };
    if (r.rows !== points) throw new Error(`${name}: imported ${r.rows} of ${points} points (${r.state})`);
    result[name] = { megabytes: Math.round(fs.statSync(file).size / 1e5) / 10, rowsPerSecond: Math.round(r.rowsPerSecond), seconds: Math.round(r.seconds * 100) / 100, peakRssMb: Math.round(run.peakRssMb) };
  }
  // The shell's plain `.import`, paired with one more import of ours right after each: the machine's
  // speed wanders by a third within a minute, so the budget's figure is the median of three such
  // pairs' ratios, not one run of each taken at different moments.
  const db = path.join(work, `shell-${steps}.db`);
  const shellOnce = async (): Promise<{ seconds: number; peakRssMb: number; rows: number }> => {
    for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
    const run = await measured('sqlite3', [db], { input: `PRAGMA journal_mode=WAL;\nCREATE TABLE raw(timestamp TEXT, service TEXT, metric TEXT, value REAL);\n.mode csv\n.import --skip 1 ${files.longCsv} raw\n` });
    return { ...run, rows: Number(spawnSync('sqlite3', [db, 'SELECT count(*) FROM raw'], { encoding: 'utf8' }).stdout.trim()) };
  };
  const oursOnce = async (): Promise<number> => {
    const run = await measured(process.execPath, ['--import', 'tsx', child, files.longCsv!]);
    return (JSON.parse(run.stdout.trim().split('\n').pop()!) as { rowsPerSecond: number }).rowsPerSecond;
  };
  const pairs: Array<{ ours: number; shell: number }> = [];
  let shell = { seconds: 0, peakRssMb: 0, rows: 0 };
  for (let k = 0; k < 3; k++) {
    shell = await shellOnce();
    pairs.push({ shell: shell.rows / shell.seconds, ours: await oursOnce() });
  }
  pairs.sort((a, b) => a.ours / a.shell - b.ours / b.shell);
  const shellRates = pairs.map((p) => p.shell).sort((a, b) => a - b);
  result.sqlite3ShellLongCsv = { rowsPerSecond: Math.round(shellRates[1]!), seconds: Math.round((shell.rows / shellRates[1]!) * 100) / 100, peakRssMb: Math.round(shell.peakRssMb) };
  // The same shell into a table keyed like ours (one row per series and time, repeats refused):
  // the plain .import appends to an unindexed table, which is less work than an import that dedups.
  const keyed = path.join(work, `shell-keyed-${steps}.db`);
  const shellKeyed = await measured('sqlite3', [keyed], { input: `PRAGMA journal_mode=WAL;\nCREATE TABLE raw(timestamp TEXT, service TEXT, metric TEXT, value REAL, PRIMARY KEY (service, metric, timestamp)) WITHOUT ROWID;\n.mode csv\n.import --skip 1 ${files.longCsv} raw\n` });
  const keyedRows = Number(spawnSync('sqlite3', [keyed, 'SELECT count(*) FROM raw'], { encoding: 'utf8' }).stdout.trim());
  result.sqlite3ShellLongCsvKeyed = { rowsPerSecond: Math.round(keyedRows / shellKeyed.seconds), seconds: Math.round(shellKeyed.seconds * 100) / 100, peakRssMb: Math.round(shellKeyed.peakRssMb) };
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  result.longCsvVsShell = r2(pairs[1]!.ours / pairs[1]!.shell);
  result.longCsvVsShellPairs = pairs.map((p) => ({ oursRowsPerSecond: Math.round(p.ours), shellRowsPerSecond: Math.round(p.shell), ratio: r2(p.ours / p.shell) }));
  for (const f of [...Object.values(files), db, `${db}-wal`, keyed, `${keyed}-wal`]) fs.rmSync(f, { force: true });
  return result;
}
