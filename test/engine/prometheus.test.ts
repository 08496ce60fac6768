import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine/engine.js';
import { chunks } from '../../electron/engine/importers/prometheus-live.js';
import type { ImportReport } from '../../shared/contract/records.js';
import { cli } from '../helpers/cli.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

/**
 * Prometheus, for real: Debian's prometheus serving a TSDB that promtool backfilled with known
 * samples (`.ci/run` installs the package). The live import must bring back exactly those samples;
 * a response saved from the same server is the file-import sample.
 */

const has = (bin: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`]);
    return true;
  } catch {
    return false;
  }
};
const available = has('prometheus') && has('promtool');

// Two services, one sample a second for three hours in January 2026 (10,800 per series: a 1 s
// query_range needs two chunks of at most 10,000 points).
const START = Date.UTC(2026, 0, 5, 9, 0, 0);
const SECONDS = 3 * 3600;
const value = (service: number, i: number): number => Math.round((100 + 10 * service + 5 * Math.sin(i / 300)) * 1000) / 1000;

let prometheus: ChildProcess | undefined;
let url = '';
let dir = '';
let engine: Engine;
let workspace: string;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  ({ engine, dir, workspace } = await freshEngine());
  if (!available) return;
  const lines = ['# HELP http_latency_ms Request latency.', '# TYPE http_latency_ms gauge'];
  ['checkout', 'search'].forEach((service, s) => {
    for (let i = 0; i < SECONDS; i++) lines.push(`http_latency_ms{service="${service}",region="eu-1"} ${value(s, i)} ${(START + i * 1000) / 1000}`);
  });
  lines.push('# EOF');
  const om = writeFile(dir, 'backfill.om', lines.join('\n') + '\n');
  const tsdb = path.join(dir, 'tsdb');
  execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', om, tsdb], { stdio: 'pipe' });
  const config = writeFile(dir, 'prometheus.yml', 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${tsdb}`, '--storage.tsdb.retention.time=100y', `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('prometheus did not become ready in 30 s');
}, 90_000);

afterAll(() => {
  prometheus?.kill();
  engine?.close();
});

describe('chunking', () => {
  it('splits a range into query_range calls of at most 10,000 steps, each starting one step after the last', () => {
    const parts = chunks({ from: 0, until: 10_799_000, stepSeconds: 1 });
    expect(parts).toEqual([[0, 9_999_000], [10_000_000, 10_799_000]]);
    expect(chunks({ from: 0, until: 0, stepSeconds: 60 })).toEqual([[0, 0]]);
  });
});

describe.skipIf(!available)('live import from a real Prometheus', () => {
  it('imports exactly the backfilled samples, over two chunks, with the service from the label', async () => {
    const r = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--prometheus', url, '--query', 'http_latency_ms',
      '--from', new Date(START).toISOString(), '--until', new Date(START + (SECONDS - 1) * 1000).toISOString(), '--step', '1s', '--json']);
    expect(r.err.split('\n').filter((line) => /^error/i.test(line))).toEqual([]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as ImportReport;
    expect(report.status).toBe('imported');
    expect(report.format).toBe('prometheus');
    expect(report.rowsAccepted).toBe(2 * SECONDS);
    expect(report.fileName).toContain('http_latency_ms');
    await engine.call('workspace.openPath', { path: workspace });
    const series = await engine.call('series.list', { service: 'checkout' });
    expect(series.map((x) => [x.metric, x.labels])).toEqual([['http_latency_ms', { region: 'eu-1' }]]);
    // Every point, exactly: compare with the backfilled values through SQL.
    const db = (await import('better-sqlite3')).default(workspace, { readonly: true });
    try {
      const rows = db.prepare(`SELECT sv.name AS service, p.ts, p.value FROM points p JOIN series s ON s.id = p.series_id JOIN services sv ON sv.id = s.service_id ORDER BY sv.name, p.ts`).all() as { service: string; ts: number; value: number }[];
      expect(rows.length).toBe(2 * SECONDS);
      const expected = ['checkout', 'search'].flatMap((service, s) => Array.from({ length: SECONDS }, (_, i) => ({ service, ts: START + i * 1000, value: value(s, i) })));
      expect(rows).toEqual(expected);
    } finally {
      db.close();
    }
    await engine.call('workspace.close', {});
    // The same query again adds nothing.
    const again = JSON.parse((await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--prometheus', url, '--query', 'http_latency_ms',
      '--from', new Date(START).toISOString(), '--until', new Date(START + (SECONDS - 1) * 1000).toISOString(), '--step', '1s', '--json'])).out) as ImportReport;
    expect(again.status).toBe('duplicate-file');
  });

  it('a response saved from the server imports as a file, recognised from its content', async () => {
    const q = new URLSearchParams({ query: 'rate(http_latency_ms[5m])', start: String(START / 1000 + 600), end: String(START / 1000 + 3600), step: '60' });
    const body = await (await fetch(`${url}/api/v1/query_range?${q}`)).text();
    const file = writeFile(dir, 'saved.json', body);
    const { engine: e2 } = await freshEngine();
    // rate() drops __name__: without a metric name every series is refused, saying what to do.
    const refused = await importPath(e2, file, { kind: 'telemetry' });
    expect(refused.status).toBe('refused');
    expect(refused.format).toBe('prometheus');
    expect(refused.message).toMatch(/has no __name__.*--metric-name/);
    const ok = await importPath(e2, file, { kind: 'telemetry', metricName: 'latency_rate' });
    expect(ok.status).toBe('imported');
    expect(ok.rowsAccepted).toBe(2 * 51);
    e2.close();
  });

  it('says what is wrong with a bad query and with a server that is not there', async () => {
    const bad = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--prometheus', url, '--query', 'rate(http_latency_ms[5m]', '--from', new Date(START).toISOString(), '--until', new Date(START + 60_000).toISOString()]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Prometheus refused the query \(bad_data\): .*parse error/);
    const port = await freePort();
    const gone = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--prometheus', `http://127.0.0.1:${port}`, '--query', 'up', '--from', new Date(START).toISOString(), '--until', new Date(START + 60_000).toISOString()]);
    expect(gone.code).toBe(2);
    expect(gone.err).toContain(`Cannot reach Prometheus at http://127.0.0.1:${port}: ECONNREFUSED`);
  });
});

describe('Prometheus credentials and API errors (a local HTTP server standing in for a protected Prometheus)', () => {
  it('sends basic auth or a bearer token, and explains a 401', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      if (req.headers.authorization !== 'Bearer s3cret' && req.headers.authorization !== `Basic ${Buffer.from('ops:pw').toString('base64')}`) {
        res.writeHead(401).end('Unauthorized');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { __name__: 'up', job: 'api' }, values: [[START / 1000, '1']] }] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const args = ['import', '--workspace', path.join(dir, 'auth.sbw'), '--create', '--kind', 'telemetry', '--prometheus', base, '--query', 'up', '--from', String(START), '--until', String(START)];
    try {
      expect((await cli([...args, '--bearer', 's3cret'])).code).toBe(0);
      const denied = await cli([...args, '--user', 'ops', '--password', 'wrong']);
      expect(denied.code).toBe(2);
      expect(denied.err).toMatch(/answered 401 Unauthorized: check --user\/--password or --bearer/);
      expect((await cli([...args, '--user', 'ops', '--password', 'pw', '--service', 'x'])).code).toBe(0);
      expect(seen).toEqual(['Bearer s3cret', `Basic ${Buffer.from('ops:wrong').toString('base64')}`, `Basic ${Buffer.from('ops:pw').toString('base64')}`]);
      // The credentials are nowhere in the workspace (the source name records the query, not them).
      expect(fs.readFileSync(path.join(dir, 'auth.sbw')).includes('s3cret')).toBe(false);
    } finally {
      server.close();
    }
  });
});
