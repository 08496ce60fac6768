import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine/engine.js';
import { detectFormat } from '../../electron/engine/importers/import-file.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

/**
 * Real-world exports: OTLP/JSON produced by the official OpenTelemetry JS SDK's serializer,
 * GitHub deployments and Argo CD history in their documented shapes, Grafana-style wide CSV —
 * and broken variants of each, which must be refused with where and why, leaving nothing behind.
 */

let engine: Engine;
let dir: string;
let workspace: string;

beforeEach(async () => {
  ({ engine, dir, workspace } = await freshEngine());
});

function points(): Array<{ service: string; metric: string; labels: string; ts: number; value: number }> {
  const db = new Database(workspace, { readonly: true });
  try {
    return db.prepare(`SELECT sv.name AS service, s.metric, s.labels, p.ts, p.value FROM points p JOIN series s ON s.id = p.series_id
      JOIN services sv ON sv.id = s.service_id ORDER BY sv.name, s.metric, s.labels, p.ts`).all() as ReturnType<typeof points>;
  } finally {
    db.close();
  }
}

/** One OTLP export request, serialised by the SDK exactly as its OTLP/HTTP JSON exporter sends it. */
async function otlpExport(service: string, record: (meter: ReturnType<MeterProvider['getMeter']>) => void, resource: Record<string, string> = {}): Promise<{ json: string; times: bigint[] }> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': service, ...resource }), readers: [reader] });
  record(provider.getMeter('shadowbench-test'));
  await reader.forceFlush();
  const json = new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(exporter.getMetrics()[0]!));
  await provider.shutdown();
  const times = [...json.matchAll(/"timeUnixNano":"(\d+)"/g)].map((m) => BigInt(m[1]!));
  return { json, times };
}

describe('OTLP/JSON metrics from the OpenTelemetry SDK', () => {
  it('imports gauges and sums with service.name as the service and attributes as labels; one request per line works too', async () => {
    const a = await otlpExport('checkout', (m) => {
      m.createGauge('cpu_pct').record(42.5, { host: 'a' });
      m.createGauge('cpu_pct').record(17.25, { host: 'b' });
      m.createCounter('requests_total').add(7, { route: '/pay' });
    });
    const b = await otlpExport('search', (m) => m.createUpDownCounter('queue_depth').add(3));
    const file = writeFile(dir, 'export.json', a.json);
    expect(detectFormat('export.json', Buffer.from(a.json))).toBe('otlp');
    const report = await importPath(engine, file, { kind: 'telemetry' });
    expect(report.status).toBe('imported');
    expect(report.format).toBe('otlp');
    expect(report.rowsAccepted).toBe(3);
    const ms = Number(a.times[0]! / 1_000_000n);
    expect(points()).toEqual([
      { service: 'checkout', metric: 'cpu_pct', labels: '{"host":"a"}', ts: ms, value: 42.5 },
      { service: 'checkout', metric: 'cpu_pct', labels: '{"host":"b"}', ts: ms, value: 17.25 },
      { service: 'checkout', metric: 'requests_total', labels: '{"route":"/pay"}', ts: Number(a.times[2]! / 1_000_000n), value: 7 },
    ]);
    const lines = writeFile(dir, 'export.ndjson', `${b.json}\n${a.json.replace('"checkout"', '"checkout-2"')}\n`);
    const second = await importPath(engine, lines, { kind: 'telemetry', format: 'otlp' });
    expect(second.rowsAccepted).toBe(4);
    expect(points().filter((p) => p.service === 'search')).toEqual([{ service: 'search', metric: 'queue_depth', labels: '{}', ts: Number(b.times[0]! / 1_000_000n), value: 3 }]);
  });

  it('reads one request per line (JSON.parse per line) and one pretty-printed document (streamed) to the same rows; a broken line is named', async () => {
    const reqs = await Promise.all(['a', 'b', 'c'].map((svc, i) => otlpExport(`svc-${svc}`, (m) => m.createGauge('cpu_pct').record(i + 0.5, { host: svc }))));
    const before = points().length;
    const perLine = await importPath(engine, writeFile(dir, 'per-line.ndjson', reqs.map((r) => r.json).join('\n')), { kind: 'telemetry', format: 'otlp' });
    expect(perLine).toMatchObject({ status: 'imported', rowsAccepted: 3 });
    const stored = points().slice(before);
    // Pretty-printed, the first line is "{": the token stream reads it; same rows, so all duplicates.
    const pretty = JSON.stringify({ resourceMetrics: reqs.flatMap((r) => (JSON.parse(r.json) as { resourceMetrics: unknown[] }).resourceMetrics) }, null, 2);
    expect(await importPath(engine, writeFile(dir, 'pretty.json', pretty), { kind: 'telemetry', format: 'otlp' })).toMatchObject({ status: 'imported', rowsAccepted: 0, duplicatesSkipped: 3 });
    expect(points().slice(before)).toEqual(stored);
    const broken = await importPath(engine, writeFile(dir, 'broken.ndjson', [reqs[0]!.json, reqs[1]!.json, reqs[2]!.json.slice(0, 50)].join('\n')), { kind: 'telemetry', format: 'otlp' });
    expect(broken.status).toBe('refused');
    expect(broken.message).toMatch(/ends early or cannot be read: line 3 is not a complete JSON document/);
    // A bad point on line 2, in that line's second resource: named by its line and its place in that line's request.
    const two = (JSON.parse(reqs[0]!.json) as { resourceMetrics: Array<{ resource: unknown }> });
    const bad = { resourceMetrics: [two.resourceMetrics[0], { resource: two.resourceMetrics[0]!.resource, scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [{ timeUnixNano: '1710064200000000000', asDouble: 'high' }] } }] }] }] };
    const located = await importPath(engine, writeFile(dir, 'located.ndjson', [reqs[1]!.json, JSON.stringify(bad)].join('\n')), { kind: 'telemetry', format: 'otlp', dryRun: true });
    expect(located.rejected[0]).toMatchObject({ line: 2, reason: expect.stringMatching(/^resourceMetrics\[1\]\.scopeMetrics\[0\]\.metrics\[0\]\.dataPoints\[0\]: /) });
  });

  it('keeps each instance of a service its own series (the instance label), so two pods at one time are two points', async () => {
    // From the SDK: the resource's service.instance.id becomes the `instance` label.
    const pods = await Promise.all(['pod-a', 'pod-b'].map((pod, i) => otlpExport('checkout', (m) => m.createGauge('cpu_pct').record(0.25 + i / 2), { 'service.instance.id': pod, 'telemetry.sdk.extra': 'not a label' })));
    expect(await importPath(engine, writeFile(dir, 'pods.ndjson', pods.map((p) => p.json).join('\n')), { kind: 'telemetry', format: 'otlp' })).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    expect(points().map((p) => [p.labels, p.value])).toEqual([['{"instance":"pod-a"}', 0.25], ['{"instance":"pod-b"}', 0.75]]);
    // Hand-written, the same time to the nanosecond and only host.name to tell them apart: the second pod's value was dropped as "already present".
    const resource = (host: string) => ({ attributes: [{ key: 'service.name', value: { stringValue: 'search' } }, { key: 'host.name', value: { stringValue: host } }] });
    const gauge = (v: number) => [{ metrics: [{ name: 'cpu', gauge: { dataPoints: [{ timeUnixNano: '1710064200000000000', asDouble: v }] } }] }];
    const doc = { resourceMetrics: [{ resource: resource('h1'), scopeMetrics: gauge(0.91) }, { resource: resource('h2'), scopeMetrics: gauge(0.12) }] };
    expect(await importPath(engine, writeFile(dir, 'hosts.json', JSON.stringify(doc)), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 2, duplicatesSkipped: 0 });
    expect(points().filter((p) => p.service === 'search').map((p) => [p.labels, p.value])).toEqual([['{"instance":"h1"}', 0.91], ['{"instance":"h2"}', 0.12]]);
  });

  it('leaves samples without a number as gaps: the SDK\'s null for NaN and ±Infinity, proto3\'s "NaN", no recorded value', async () => {
    const { json } = await otlpExport('checkout', (m) => {
      m.createGauge('a').record(Number.NaN);
      m.createGauge('b').record(Number.POSITIVE_INFINITY);
      m.createGauge('c').record(1.5);
    });
    expect(json).toContain('"asDouble":null'); // what the real SDK writes for both
    const report = await importPath(engine, writeFile(dir, 'nan.json', json), { kind: 'telemetry' });
    expect(report).toMatchObject({ status: 'imported', rowsRead: 3, rowsAccepted: 1, rowsRejected: 0, samplesWithoutValue: 2 });
    expect(report.message).toMatch(/2 samples without a number \(NaN, ±Inf, null, no recorded value, an empty cell\) left as gaps/);
    expect(points().map((p) => [p.metric, p.value])).toEqual([['c', 1.5]]);
    // A stale marker (flags 1, no value) and proto3's string for -Infinity; a number written as a string still counts.
    const flagged = json.replace('"asDouble":null', '"flags":1').replace('"asDouble":null', '"asDouble":"-Infinity"').replace('"asDouble":1.5', '"asDouble":"2.5"').replace('"name":"c"', '"name":"d"');
    expect(await importPath(engine, writeFile(dir, 'flagged.json', flagged), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 1, rowsRejected: 0, samplesWithoutValue: 2 });
    expect(points().map((p) => [p.metric, p.value])).toEqual([['c', 1.5], ['d', 2.5]]);
  });

  it('refuses broken exports with the path inside the document, importing nothing', async () => {
    const { json } = await otlpExport('checkout', (m) => m.createGauge('cpu_pct').record(1));
    const cases: Array<[string, string, RegExp]> = [
      ['truncated', json.slice(0, json.length - 20), /ends early or cannot be read/],
      ['wrong type', json.replace('"asDouble":1', '"asDouble":"lots"'), /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]\.dataPoints\[0\]: no numeric asDouble or asInt \(got "lots"\)/],
      ['missing time', json.replace(/"timeUnixNano":"\d+",/, ''), /dataPoints\[0\]: timeUnixNano undefined is not a whole number/],
      ['no service', json.replace('"service.name"', '"service.namespace"'), /resource has no service.name attribute; give --service/],
      ['histogram', json.replace('"gauge":', '"histogram":'), /only gauge and sum metrics can be imported, not histogram/],
    ];
    for (const [name, text, reason] of cases) {
      const report = await importPath(engine, writeFile(dir, `${name}.json`, text), { kind: 'telemetry', format: 'otlp' });
      expect(report.status, name).toBe('refused');
      expect(report.message, name).toMatch(reason);
    }
    expect(points()).toEqual([]);
  });
});

describe('Prometheus files: broken variants', () => {
  const good = { status: 'success', data: { resultType: 'matrix', result: [{ metric: { __name__: 'up', job: 'api', instance: 'a:9090' }, values: [[1767600000, '1'], [1767600060, '0']] }] } };
  it('names the series and sample at fault', async () => {
    const vector = { status: 'success', data: { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'api' }, value: [1767600000.5, '1'] }] } };
    expect((await importPath(engine, writeFile(dir, 'vector.json', JSON.stringify(vector)), { kind: 'telemetry' })).rowsAccepted).toBe(1);
    const cases: Array<[string, string, RegExp]> = [
      ['truncated', JSON.stringify(good).slice(0, 60), /ends early or cannot be read/],
      ['number value', JSON.stringify(good).replace('"1"]', '1]'), /data\.result\[0\]\.values\[0\]: value number is not a number in Prometheus' string form/],
      ['no metric', JSON.stringify({ ...good, data: { ...good.data, result: [{ values: [] }] } }), /data\.result\[0\]: a series is \{"metric"/],
      ['native histogram', JSON.stringify({ ...good, data: { ...good.data, result: [{ metric: { __name__: 'req_seconds', job: 'api' }, histograms: [[1767600000, { count: '3', sum: '1.5', buckets: [] }]] }] } }), /data\.result\[0\]: a native histogram series has buckets, not one value per sample; query a number from it, e\.g\. histogram_quantile\(0\.99, rate\(req_seconds\[5m\]\)\)/],
      ['no service label', JSON.stringify(good).replace('"job":"api",', '').replace('"instance":"a:9090"', '"zone":"x"'), /no service, job, app or instance label.*labels: __name__, zone/],
    ];
    // Each also as a file whose first line is not the whole document (pretty-printed, or too long to
    // read as a line): then it is scanned, and a series' samples are read into columns.
    for (const [name, text, reason] of cases) {
      for (const [how, body] of [['one line', text], ['scanned', `\n${text}`]]) {
        const report = await importPath(engine, writeFile(dir, `${name}.json`, body!), { kind: 'telemetry', format: 'prometheus' });
        expect(report.status, `${name}, ${how}`).toBe('refused');
        expect(report.message, `${name}, ${how}`).toMatch(reason);
      }
    }
    // A failed query saved as is, and results with no series, are refused saying so (not "0 rows imported").
    const failed = await importPath(engine, writeFile(dir, 'failed.json', '{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \\"}\\""}'), { kind: 'telemetry' });
    expect(failed.status).toBe('refused');
    expect(failed.message).toBe('failed.json: this is a Prometheus error response (bad_data): 1:5: parse error: unexpected "}"; it holds no data — fix the query and save its answer again');
    const scalar = await importPath(engine, writeFile(dir, 'scalar.json', '{"status":"success","data":{"resultType":"scalar","result":[1767600000,"1"]}}'), { kind: 'telemetry' });
    expect(scalar.message).toMatch(/holds a scalar result, which has no series/);
    // A label called "status" with the value "error" is just a label.
    const labelled = JSON.stringify({ ...good, data: { ...good.data, result: [{ ...good.data.result[0], metric: { __name__: 'http_requests', status: 'error', job: 'labelled' } }] } });
    expect(await importPath(engine, writeFile(dir, 'labelled.json', labelled), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    // Prometheus writes non-finite values as "NaN", "+Inf", "-Inf": gaps, not bad rows; anything else non-finite is refused.
    const gappy = { status: 'success', data: { resultType: 'matrix', result: [{ metric: { __name__: 'ratio', job: 'gappy' }, values: [[1767600000, '0.5'], [1767600060, 'NaN'], [1767600120, '+Inf'], [1767600180, '-Inf'], [1767600240, '0.25']] }] } };
    const gaps = await importPath(engine, writeFile(dir, 'gaps.json', JSON.stringify(gappy)), { kind: 'telemetry' });
    expect(gaps).toMatchObject({ status: 'imported', rowsRead: 5, rowsAccepted: 2, rowsRejected: 0, samplesWithoutValue: 3 });
    expect(points().filter((p) => p.service === 'gappy').map((p) => [p.ts, p.value])).toEqual([[1767600000_000, 0.5], [1767600240_000, 0.25]]);
    const scanned = await importPath(engine, writeFile(dir, 'gaps-scanned.json', JSON.stringify(gappy, null, 1).replace('gappy', 'gappy-scanned')), { kind: 'telemetry' });
    expect(scanned).toMatchObject({ status: 'imported', rowsRead: 5, rowsAccepted: 2, rowsRejected: 0, samplesWithoutValue: 3 });
    expect(points().filter((p) => p.service === 'gappy-scanned').map((p) => [p.ts, p.value])).toEqual([[1767600000_000, 0.5], [1767600240_000, 0.25]]);
    for (const bad of ['Infinity', '1e400', '', ' ']) {
      for (const indent of [0, 1]) {
        const refused = await importPath(engine, writeFile(dir, `bad-${bad}.json`, JSON.stringify(gappy, null, indent).replace('"NaN"', JSON.stringify(bad)).replace('gappy', 'other')), { kind: 'telemetry' });
        expect(refused.status, bad).toBe('refused');
        expect(refused.message, bad).toContain(`data.result[0].values[1]: value ${JSON.stringify(bad)} is not a number in Prometheus' string form`);
      }
    }
    const chosen = await importPath(engine, writeFile(dir, 'label.json', JSON.stringify(good)), { kind: 'telemetry', serviceLabel: 'instance' });
    expect(chosen.rowsAccepted).toBe(2);
    expect(points().filter((p) => p.service === 'a:9090').map((p) => p.labels)).toEqual(['{"job":"api"}', '{"job":"api"}']);
    // A Prometheus file imported as changes is refused up front.
    const wrongKind = await importPath(engine, writeFile(dir, 'again.json', JSON.stringify(good)), { kind: 'changes' });
    expect(wrongKind.message).toMatch(/is a prometheus export, which holds telemetry; import it as --kind telemetry/);
  });
});

describe('deploys from GitHub and Argo CD', () => {
  // The documented REST shape (GET /repos/{owner}/{repo}/deployments), trimmed to the fields read plus a few more.
  const deployments = [
    { url: 'https://api.github.com/repos/acme/checkout/deployments/101', id: 101, node_id: 'DE_1', sha: 'a1b2c3', ref: 'main', task: 'deploy', payload: {}, original_environment: 'production', environment: 'production', description: 'Deploy request from hubot', creator: { login: 'octocat', id: 1 }, created_at: '2026-01-05T09:00:00Z', updated_at: '2026-01-05T09:01:00Z', statuses_url: 'https://api.github.com/repos/acme/checkout/deployments/101/statuses', repository_url: 'https://api.github.com/repos/acme/checkout' },
    { url: 'https://api.github.com/repos/acme/checkout/deployments/102', id: 102, sha: 'd4e5f6', ref: 'v1.2.0', environment: 'production', description: null, creator: { login: 'hubot' }, created_at: '2026-01-05T12:30:00+01:00', repository_url: 'https://api.github.com/repos/acme/checkout', state: 'failure' },
  ];

  it('imports GitHub deployments as changes, recognised from the content', async () => {
    const text = JSON.stringify(deployments, null, 2);
    expect(detectFormat('deploys.json', Buffer.from(text))).toBe('github-deployments');
    const report = await importPath(engine, writeFile(dir, 'deploys.json', text), { kind: 'changes' });
    expect(report.status).toBe('imported');
    const page = await engine.call('changes.page', { order: 'asc' });
    expect(page.rows.map((c) => [c.externalId, c.service, new Date(c.ts).toISOString(), c.version, c.rolledBack])).toEqual([
      ['101', 'checkout', '2026-01-05T09:00:00.000Z', 'a1b2c3', null],
      ['102', 'checkout', '2026-01-05T11:30:00.000Z', 'd4e5f6', true],
    ]);
    // The author is pseudonymised like any other (PII scrubbing applies to every format).
    expect(page.rows[0]!.author).not.toBe('octocat');
    const broken = await importPath(engine, writeFile(dir, 'broken.json', JSON.stringify([{ ...deployments[0], created_at: undefined }])), { kind: 'changes', format: 'github-deployments' });
    expect(broken.message).toMatch(/\[0\]: a GitHub deployment has "created_at"; this one does not/);
  });

  it('reads a deployment\'s outcome from its latest status, and names a statuses export for what it is', async () => {
    const deployment = (id: number, statuses: Array<{ state: string; created_at: string }>) => ({
      url: `https://api.github.com/repos/acme/checkout/deployments/${id}`, id, sha: `abc${id}`, ref: 'main', environment: 'production', created_at: '2026-01-05T09:00:00Z',
      repository_url: 'https://api.github.com/repos/acme/checkout', statuses_url: `https://api.github.com/repos/acme/checkout/deployments/${id}/statuses`, statuses,
    });
    // Statuses come newest first from the API; the latest by time decides, whatever the order.
    const list = [
      deployment(1, [{ state: 'success', created_at: '2026-01-05T09:05:00Z' }, { state: 'in_progress', created_at: '2026-01-05T09:01:00Z' }]),
      deployment(2, [{ state: 'in_progress', created_at: '2026-01-05T09:01:00Z' }, { state: 'failure', created_at: '2026-01-05T09:07:00Z' }]),
    ];
    expect((await importPath(engine, writeFile(dir, 'deps.json', JSON.stringify(list)), { kind: 'changes' })).rowsAccepted).toBe(2);
    expect((await engine.call('changes.page', { order: 'asc' })).rows.map((c) => [c.externalId, c.rolledBack])).toEqual([['1', false], ['2', true]]);
    // `gh api --paginate --slurp`: the pages as an array of arrays, recognised and read the same.
    const slurped = JSON.stringify([[deployment(3, [])], [deployment(4, [{ state: 'error', created_at: '2026-01-05T09:02:00Z' }])]]);
    expect(detectFormat('pages.json', Buffer.from(slurped))).toBe('github-deployments');
    expect((await importPath(engine, writeFile(dir, 'pages.json', slurped), { kind: 'changes' })).rowsAccepted).toBe(2);
    expect((await engine.call('changes.page', { order: 'asc' })).rows.filter((c) => ['3', '4'].includes(c.externalId)).map((c) => [c.externalId, c.rolledBack])).toEqual([['3', null], ['4', true]]);
    const statuses = [{ url: 'https://api.github.com/repos/acme/checkout/deployments/2/statuses/9', id: 9, state: 'failure', created_at: '2026-01-05T09:07:00Z', deployment_url: 'https://api.github.com/repos/acme/checkout/deployments/2' }];
    const refused = await importPath(engine, writeFile(dir, 'statuses.json', JSON.stringify(statuses)), { kind: 'changes' });
    expect(refused.status).toBe('refused');
    expect(refused.rejected[0]!.reason).toMatch(/^\[0\]: this is a deployment-statuses export \(https:\/\/api\.github\.com\/repos\/acme\/checkout\/deployments\/2\/statuses\), which holds no deploys/);
  });

  it('keeps one environment of GitHub deployments when asked, and says when several went into one service', async () => {
    // One repository deployed to staging and production: two different kinds of event.
    const mixed = [
      ...deployments,
      { ...deployments[0], id: 201, sha: 'aa11', environment: 'staging', created_at: '2026-01-04T09:00:00Z' },
      { ...deployments[0], id: 202, sha: 'bb22', environment: 'staging', created_at: '2026-01-04T10:00:00Z' },
      { ...deployments[0], id: 203, sha: 'cc33', environment: 'staging', created_at: '2026-01-04T11:00:00Z' },
    ];
    const text = JSON.stringify(mixed);
    const all = await importPath(engine, writeFile(dir, 'mixed-all.json', text), { kind: 'changes', dryRun: true });
    expect(all.environments).toEqual({ production: 2, staging: 3 });
    expect(all.rowsAccepted).toBe(5);
    expect(all.message).toContain('deployments to 2 environments (staging 3, production 2) are all changes of their service: import with --environment NAME to keep one');
    // An environment named like a key every object has is counted from its own key.
    const odd = [301, 302].map((id) => ({ ...deployments[0], id, sha: `dd${id}`, environment: 'constructor', created_at: `2026-01-04T1${id - 300}:00:00Z` }));
    expect((await importPath(engine, writeFile(dir, 'odd-env.json', JSON.stringify(odd)), { kind: 'changes', dryRun: true })).environments).toEqual({ constructor: 2 });
    const prod = await importPath(engine, writeFile(dir, 'mixed.json', text), { kind: 'changes', environment: 'production' });
    expect(prod).toMatchObject({ status: 'imported', rowsRead: 5, rowsAccepted: 2, rowsRejected: 0, environments: { production: 2, staging: 3 } });
    expect(prod.message).toMatch(/2 rows imported, 3 deployments to other environments left out \(staging 3\)$/);
    const ids = (await engine.call('changes.page', { order: 'asc', limit: 1000 })).rows.map((c) => c.externalId);
    expect(ids.filter((id) => ['201', '202', '203'].includes(id))).toEqual([]);
    // An environment the file does not have is a typo, not "0 rows imported".
    const typo = await importPath(engine, writeFile(dir, 'mixed-typo.json', text), { kind: 'changes', environment: 'prod' });
    expect(typo.status).toBe('refused');
    expect(typo.message).toContain('no deployment to environment "prod" in this file (environments: production, staging)');
    // And it means nothing for other formats: said, not ignored.
    const csv = await importPath(engine, writeFile(dir, 'changes.csv', 'id,service,timestamp,kind\nx1,api,2026-01-01T00:00:00Z,deploy\n'), { kind: 'changes', environment: 'production' });
    expect(csv.message).toContain('--environment chooses among GitHub deployments; this file is csv');
  });

  it('imports Argo CD application history (one application, or a list) as changes', async () => {
    const app = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'payments', namespace: 'argocd' }, spec: {}, status: { history: [
      { id: 1, revision: '9f8e7d', deployedAt: '2026-01-04T10:00:05Z', deployStartedAt: '2026-01-04T10:00:00Z', source: { repoURL: 'https://git.example.com/payments.git' } },
      { id: 2, revision: '1a2b3c', deployedAt: '2026-01-05T10:00:00Z', source: { repoURL: 'https://git.example.com/payments.git' } },
    ] } };
    expect(detectFormat('app.json', Buffer.from(JSON.stringify(app)))).toBe('argocd');
    expect((await importPath(engine, writeFile(dir, 'app.json', JSON.stringify(app)), { kind: 'changes' })).rowsAccepted).toBe(2);
    const list = { items: [{ ...app, metadata: { name: 'ledger' } }] };
    expect((await importPath(engine, writeFile(dir, 'list.json', JSON.stringify(list)), { kind: 'changes', format: 'argocd' })).rowsAccepted).toBe(2);
    const page = await engine.call('changes.page', { order: 'asc' });
    expect(page.rows.map((c) => [c.externalId, c.service, new Date(c.ts).toISOString()]).sort()).toEqual([
      ['ledger#1', 'ledger', '2026-01-04T10:00:00.000Z'], ['ledger#2', 'ledger', '2026-01-05T10:00:00.000Z'],
      ['payments#1', 'payments', '2026-01-04T10:00:00.000Z'], ['payments#2', 'payments', '2026-01-05T10:00:00.000Z'],
    ]);
  });

  it('reads what the argocd CLI prints (no apiVersion; `app list` is a bare array) and multi-source applications', async () => {
    // `argocd app get -o json`: an Application without apiVersion and kind, recognised by its shape.
    const cli = { metadata: { name: 'search', namespace: 'argocd' }, spec: {}, status: { history: [
      { id: 3, revisions: ['1.2.3', '9e8d7c'], sources: [{ repoURL: 'https://charts.example.com' }, { repoURL: 'https://git.example.com/values.git' }], deployedAt: '2026-01-06T10:00:00Z', initiatedBy: { username: 'ana' } },
    ] } };
    expect(detectFormat('app.json', Buffer.from(JSON.stringify(cli, null, 2)))).toBe('argocd');
    expect(await importPath(engine, writeFile(dir, 'search.json', JSON.stringify(cli, null, 2)), { kind: 'changes' })).toMatchObject({ status: 'imported', rowsAccepted: 1 });
    const stored = (await engine.call('changes.page', { order: 'asc' })).rows[0]!;
    expect([stored.externalId, stored.version, stored.description]).toEqual(['search#3', '1.2.3,9e8d7c', 'https://charts.example.com, https://git.example.com/values.git']);
    expect(stored.author).toMatch(/^person-[0-9a-f]{10}$/); // initiatedBy.username, pseudonymised like every author
    // `argocd app list -o json`: a bare array of them.
    const list = [{ ...cli, metadata: { name: 'cart' } }, { ...cli, metadata: { name: 'auth' } }];
    expect(detectFormat('apps.json', Buffer.from(JSON.stringify(list)))).toBe('argocd');
    expect((await importPath(engine, writeFile(dir, 'apps.json', JSON.stringify(list)), { kind: 'changes' })).rowsAccepted).toBe(2);
    // Nothing of the expected shape: refused, not "0 rows imported".
    const empty = await importPath(engine, writeFile(dir, 'none.json', JSON.stringify([{ metadata: { name: 'x' }, spec: {} }])), { kind: 'changes', format: 'argocd' });
    expect([empty.status, empty.message]).toEqual(['refused', expect.stringMatching(/^none\.json: no Argo CD application history found/)]);
  });
});

describe('wide telemetry CSV (one column per metric)', () => {
  it('imports a Grafana-style export: each cell a point, empty cells gaps, "service/metric" headers or --service', async () => {
    const text = 'Time,checkout/latency_ms,checkout/error_rate,search/latency_ms\n2026-01-05T09:00:00Z,120,0.01,80\n2026-01-05T09:01:00Z,,0.02,82\n';
    expect(detectFormat('panel.csv', Buffer.from(text), 'telemetry')).toBe('wide-csv');
    const report = await importPath(engine, writeFile(dir, 'panel.csv', text), { kind: 'telemetry' });
    expect(report.status).toBe('imported');
    expect(report.rowsAccepted).toBe(5);
    // The empty cell (a null in Grafana's export) is a gap, counted as one.
    expect(report.samplesWithoutValue).toBe(1);
    expect(points().map((p) => `${p.service}/${p.metric}@${new Date(p.ts).toISOString().slice(11, 16)}=${p.value}`)).toEqual([
      'checkout/error_rate@09:00=0.01', 'checkout/error_rate@09:01=0.02', 'checkout/latency_ms@09:00=120', 'search/latency_ms@09:00=80', 'search/latency_ms@09:01=82',
    ]);
    const single = 'time,cpu,mem\n1767600000,0.5,0.7\n1767600060,0.6,x\n';
    const refused = await importPath(engine, writeFile(dir, 'single.csv', single), { kind: 'telemetry', defaultService: 'api' });
    expect(refused.status).toBe('refused');
    expect(refused.message).toMatch(/line 3/);
    // Said once for the header, not once per cell.
    const nosvc = await importPath(engine, writeFile(dir, 'nosvc.csv', 'time,cpu\n1767600000,0.5\n1767600060,0.6\n'), { kind: 'telemetry' });
    expect(nosvc).toMatchObject({ status: 'refused', rowsRejected: 0, message: 'nosvc.csv: column "cpu" names no service: use "service/metric" headers (or a Datadog "service:" tag), or give the service (the Service box in the import form, --service on the command line)' });
    // Legends with a space before their "/" are metric names of --service, not "service/metric".
    const routes = await importPath(engine, writeFile(dir, 'routes.csv', 'Time,GET /api/orders,checkout req/s\n2026-01-05T09:00:00Z,12,40\n'), { kind: 'telemetry', defaultService: 'api-gateway' });
    expect(routes).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    expect(points().filter((p) => p.ts === Date.UTC(2026, 0, 5, 9) && p.service !== 'checkout' && p.service !== 'search').map((p) => `${p.service}|${p.metric}=${p.value}`)).toEqual(['api-gateway|GET /api/orders=12', 'api-gateway|checkout req/s=40']);
    const mixed = 'time,cpu\n2026-01-05T09:00:00Z,1\n2026-01-05 09:01:00,2\n';
    expect((await importPath(engine, writeFile(dir, 'mixed.csv', mixed), { kind: 'telemetry', defaultService: 'api' })).message).toMatch(/line 3.*(offset|zone)/i);
  });

  it('reads a European spreadsheet\'s numbers with a decimal comma when told, and says how when not', async () => {
    const text = 'Zeitstempel;Dienst;Metrik;Wert\n2026-03-02T10:00:00Z;kasse;latenz;13,5\n2026-03-02T10:01:00Z;kasse;latenz;1.234,5\n2026-03-02T10:02:00Z;kasse;latenz;7\n';
    const mapping = { Zeitstempel: 'timestamp', Dienst: 'service', Metrik: 'metric', Wert: 'value' };
    const plain = await importPath(engine, writeFile(dir, 'de.csv', text), { kind: 'telemetry', mapping });
    expect(plain.status).toBe('refused');
    expect(plain.rejected[0]).toEqual({ line: 2, reason: 'value "13,5" is not a number; if the file writes decimals with a comma, import with decimal comma (--decimal-comma)' });
    const report = await importPath(engine, writeFile(dir, 'de.csv', text), { kind: 'telemetry', mapping, decimalComma: true });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 3 });
    expect(points().filter((p) => p.service === 'kasse').map((p) => p.value)).toEqual([13.5, 1234.5, 7]);
    // "1.25" cannot be a thousands separator: refused, not read as 1.25 beside "1.250" read as 1250.
    const mixed = await importPath(engine, writeFile(dir, 'de-mixed.csv', 'Zeitstempel;Dienst;Metrik;Wert\n2026-03-03T10:00:00Z;kasse;latenz;1.25\n2026-03-03T10:01:00Z;kasse;latenz;1.250\n'), { kind: 'telemetry', mapping, decimalComma: true });
    expect(mixed.rejected[0]).toEqual({ line: 2, reason: 'value "1.25" has a dot that is not a thousands separator, but the file was said to write decimals with a comma (1.234,5)' });
  });

  it('takes each Datadog column\'s service from its "service:" tag and its other tags as labels, whatever --service says', async () => {
    const before = points().length;
    const text = 'timestamp,"avg:trace.http.request.duration{service:checkout-api,env:prod}","avg:trace.http.request.duration{service:cart,env:prod}","sum:queue.depth{env:prod}"\n'
      + '2026-02-01T10:00:00Z,0.21,0.05,4\n2026-02-01T10:01:00Z,0.25,0.06,5\n';
    const report = await importPath(engine, writeFile(dir, 'datadog.csv', text), { kind: 'telemetry', defaultService: 'checkout-api' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 6 });
    const added = points().filter((p) => p.ts >= Date.UTC(2026, 1, 1) && p.ts < Date.UTC(2026, 1, 2));
    expect(points().length - before).toBe(6);
    expect([...new Set(added.map((p) => `${p.service} ${p.metric} ${p.labels}`))].sort()).toEqual([
      'cart avg:trace.http.request.duration {"env":"prod"}',
      'checkout-api avg:trace.http.request.duration {"env":"prod"}',
      'checkout-api sum:queue.depth {"env":"prod"}', // no service tag: --service
    ]);
  });

  it('reads what Grafana and Excel write: a byte order mark before a quoted header, CRLF, a `sep=,` line; colons are part of a name', async () => {
    // Grafana's CSV download: BOM, quoted header cells, CRLF. The BOM once kept the quotes in "Time".
    const bom = '\uFEFF"Time","checkout/latency_ms"\r\n2026-01-05 09:00:00,120\r\n2026-01-05 09:01:00,125\r\n';
    expect((await importPath(engine, writeFile(dir, 'bom.csv', bom), { kind: 'telemetry', timeZone: 'UTC' })).rowsAccepted).toBe(2);
    // "Download for Excel" starts with a separator hint.
    const excel = '\uFEFFsep=,\r\n"Time","checkout/errors"\r\n2026-01-05 09:00:00,3\r\n';
    expect(detectFormat('excel.csv', Buffer.from(excel), 'telemetry')).toBe('wide-csv');
    expect((await importPath(engine, writeFile(dir, 'excel.csv', excel), { kind: 'telemetry', timeZone: 'UTC' })).rowsAccepted).toBe(1);
    // Recording rules are named level:metric:operations; a colon once split off a service "job".
    const rules = 'time,job:http_requests:rate5m\n2026-01-05T09:00:00Z,42\n';
    expect((await importPath(engine, writeFile(dir, 'rules.csv', rules), { kind: 'telemetry', defaultService: 'checkout' })).rowsAccepted).toBe(1);
    expect(points().map((p) => `${p.service}|${p.metric}`)).toEqual(['checkout|errors', 'checkout|job:http_requests:rate5m', 'checkout|latency_ms', 'checkout|latency_ms']);
    // Grafana's default legend is the label set: refused once, saying what to do, not filed under a service "{instance=…".
    const labels = await importPath(engine, writeFile(dir, 'labels.csv', 'Time,"{instance=""10.0.0.7:9100"", job=""node""}"\n2026-01-05T09:00:00Z,1\n'), { kind: 'telemetry', defaultService: 'node' });
    expect(labels.status).toBe('refused');
    expect(labels.message).toMatch(/is a Prometheus label set, not a metric name; give the panel's queries a legend/);
    // No time column: one refusal at the header, not one per row.
    const untimed = await importPath(engine, writeFile(dir, 'untimed.csv', 'when,cpu\n1,2\n3,4\n'), { kind: 'telemetry', defaultService: 'api', format: 'wide-csv' });
    expect(untimed.status).toBe('refused');
    expect(untimed.rejected).toHaveLength(0);
    // Refused at the header, the report still lists its columns: the import form offers them as the time column.
    expect(untimed.columns).toEqual(['when', 'cpu']);
    expect(untimed.message).toMatch(/a wide CSV needs a time column \(.*or choose one: the time column in the import form, --map COLUMN=timestamp on the command line\)/);
    // A time column by another name (a German export's "Zeit") is taken when mapped.
    const zeit = await importPath(engine, writeFile(dir, 'zeit.csv', 'Zeit;cpu;mem\n2026-01-06T09:00:00Z;1,5;2\n'), { kind: 'telemetry', defaultService: 'api', format: 'wide-csv', mapping: { Zeit: 'timestamp' }, decimalComma: true });
    expect(zeit).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    expect(points().filter((p) => p.ts === Date.UTC(2026, 0, 6, 9)).map((p) => [p.metric, p.value])).toEqual([['cpu', 1.5], ['mem', 2]]);
    const wrong = await importPath(engine, writeFile(dir, 'zeit2.csv', 'Zeit;cpu\n2026-01-06T09:00:00Z;1\n2026-01-06T09:01:00Z;2\n2026-01-06T09:02:00Z;3\n'), { kind: 'telemetry', defaultService: 'api', format: 'wide-csv', mapping: { Datum: 'timestamp' } });
    expect(wrong.message).toContain('the mapping names "Datum" as the time column, but the header has "Zeit", "cpu"');
  });

  it('leaves a deploy log\'s text columns out of a change\'s numeric attributes, naming them, instead of failing every row', async () => {
    // A GitHub Actions deploy log: one commit deployed twice (after a rollback), so the run is the id.
    const log = [
      'run_id,sha,service,environment,workflow,conclusion,actor,created_at,updated_at,lines_added,rollback',
      '8812001,4f2a9c1e,checkout,production,deploy.yml,success,jdoe,2024-04-02T09:15:22Z,2024-04-02T09:21:01Z,120,false',
      '8812002,9b1c2d3e,checkout,production,deploy.yml,failure,jdoe,2024-04-02T11:00:00Z,2024-04-02T11:04:00Z,800,true',
      '8812003,4f2a9c1e,checkout,production,deploy.yml,success,asmith,2024-04-02T11:30:00Z,2024-04-02T11:34:00Z,,false',
    ].join('\n') + '\n';
    const report = await importPath(engine, writeFile(dir, 'gha.csv', log), { kind: 'changes', mapping: { run_id: 'id' } });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 3, textColumns: ['environment', 'workflow', 'conclusion', 'updated_at'] });
    expect(report.mapping).toMatchObject({ run_id: 'id', sha: 'version', actor: 'author', created_at: 'timestamp', rollback: 'rolled_back' });
    expect(report.message).toBe('gha.csv: 3 rows imported; 4 columns of text left out ("environment", "workflow", "conclusion", "updated_at"): a change\'s other columns are numeric attributes for models; map one to a field to keep it');
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare("SELECT external_id, version, attributes FROM changes WHERE external_id LIKE '88120%' ORDER BY external_id").raw().all()).toEqual([
      ['8812001', '4f2a9c1e', '{"lines_added":120}'], ['8812002', '9b1c2d3e', '{"lines_added":800}'], ['8812003', '4f2a9c1e', '{}'],
    ]);
    db.close();
    // A column that began with numbers is an attribute: later text in it is a bad row, as before.
    const bad = await importPath(engine, writeFile(dir, 'gha-bad.csv', log.replace(',800,', ',many,')), { kind: 'changes', mapping: { run_id: 'id' }, dryRun: true });
    expect(bad.rejected).toEqual([{ line: 3, reason: 'lines_added "many" is not a number' }]);
  });

  it('says what an unknown JSON document is, and that a single-series "Time,Value" export is a wide CSV', async () => {
    // A Grafana data frame: JSON, but none of the exports read here; once read as a CSV with the header "[".
    const frame = JSON.stringify([{ schema: { fields: [{ name: 'Time', type: 'time' }, { name: 'p99', type: 'number' }] }, data: { values: [[1712052000000], [200]] } }], null, 2);
    const json = await importPath(engine, writeFile(dir, 'frame.json', frame), { kind: 'telemetry' });
    expect(json.status).toBe('refused');
    expect(json.message).toBe('frame.json: this is a JSON document, but not one of the exports read here (Prometheus API JSON, OTLP JSON, GitHub deployments, Argo CD history); write its records one JSON object per line (NDJSON), e.g. jq -c \'.[]\' FILE > records.ndjson, or export it as CSV');
    const single = await importPath(engine, writeFile(dir, 'single.csv', '"Time","Value"\n2024-04-02T10:00:00Z,200\n'), { kind: 'telemetry' });
    expect(single.message).toContain('Or, if each column after the time is one metric, read the file as a wide CSV (the format "wide CSV" in the import form, --format wide-csv, with the service given).');
    expect(await importPath(engine, writeFile(dir, 'single.csv', '"Time","Value"\n2024-04-02T10:00:00Z,200\n'), { kind: 'telemetry', format: 'wide-csv', defaultService: 'api' })).toMatchObject({ status: 'imported', rowsAccepted: 1 });
  });

  it('says when a semicolon-separated file\'s "1.250" may be thousands read as decimals, and is quiet with --decimal-comma or commas', async () => {
    const eu = 'timestamp;service;metric;value\n2026-04-01T10:00:00Z;kasse;requests_per_min;1.250\n2026-04-01T10:01:00Z;kasse;requests_per_min;980\n2026-04-01T10:02:00Z;kasse;requests_per_min;2.400\n';
    const report = await importPath(engine, writeFile(dir, 'eu-thousands.csv', eu), { kind: 'telemetry', dryRun: true });
    expect(report.thousandsLike).toEqual({ count: 2, example: '1.250', line: 2 });
    expect(report.message).toContain('; 2 values such as "1.250" (line 2) were read with a decimal point (1.25), but in a file separated by semicolons they may be thousands (1250): if so, import with decimal comma (--decimal-comma)');
    expect((await importPath(engine, writeFile(dir, 'eu-thousands.csv', eu), { kind: 'telemetry', dryRun: true, decimalComma: true })).thousandsLike).toBeNull();
    expect((await importPath(engine, writeFile(dir, 'us.csv', eu.replaceAll(';', ',')), { kind: 'telemetry', dryRun: true })).thousandsLike).toBeNull();
    // A wide export the same.
    const wide = 'Zeit;kasse/anfragen\n2026-04-01T10:00:00Z;1.250\n';
    expect((await importPath(engine, writeFile(dir, 'eu-wide.csv', wide), { kind: 'telemetry', format: 'wide-csv', mapping: { Zeit: 'timestamp' }, dryRun: true })).thousandsLike).toEqual({ count: 1, example: '1.250', line: 2 });
  });

  it('reads every line of a file whose line endings change part way, and skips blank-looking lines', async () => {
    const before = points().length;
    // A Windows export with Unix lines appended: papaparse's one guess (CRLF) once glued the LF lines into one row.
    const mixed = 'timestamp,service,metric,value\r\n2026-02-01T10:00:00Z,api,rps,1\r\n2026-02-01T10:01:00Z,api,rps,2\r\n2026-02-01T10:02:00Z,api,rps,3\n2026-02-01T10:03:00Z,api,rps,4\n2026-02-01T10:04:00Z,api,rps,5\n';
    expect(await importPath(engine, writeFile(dir, 'mixed-eol.csv', mixed), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 5, rejected: [] });
    // Blank-looking lines are skipped, not bad rows: an empty LF line after CRLF ones, spaces, Excel's `;;;`.
    const blanks = 'timestamp;service;metric;value\r\n2026-02-01T11:00:00Z;api;rps;6\r\n\n   \n;;;\r\n2026-02-01T11:01:00Z;api;rps;7\r\n"2026-02-01T11:02:00Z";"api";"rps";"8"\r\n\n';
    expect(await importPath(engine, writeFile(dir, 'blanks.csv', blanks), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 3, rejected: [] });
    // Line numbers still count every physical line: the bad row is line 6.
    const located = await importPath(engine, writeFile(dir, 'located.csv', blanks.replace('rps;7', 'rps;seven')), { kind: 'telemetry', dryRun: true });
    expect(located.rejected).toEqual([{ line: 6, reason: 'value "seven" is not a number' }]);
    // Classic Mac line ends (CR only) are still lines.
    const mac = 'timestamp,service,metric,value\r2026-02-01T12:00:00Z,api,rps,9\r2026-02-01T12:01:00Z,api,rps,10\r';
    expect(await importPath(engine, writeFile(dir, 'mac.csv', mac), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const day = points().filter((p) => p.metric === 'rps' && p.ts >= Date.UTC(2026, 1, 1) && p.ts < Date.UTC(2026, 1, 2));
    expect(day.map((p) => p.value).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(points().length - before).toBe(10);
  });

  it('reads Alertmanager-shaped alerts: camelCase fields, severity words, Go\'s zero time for a firing alert\'s end', async () => {
    const nd = [
      '{"fingerprint":"a1","alertName":"HighErrorRate","service":"checkout","severity":"critical","startsAt":"2024-03-10T09:45:12.123Z","endsAt":"2024-03-10T10:10:00Z"}',
      '{"fingerprint":"a2","alertName":"DiskFilling","service":"db","severity":"warning","startsAt":"2024-03-11T13:00:00+01:00","endsAt":"0001-01-01T00:00:00Z"}',
    ].join('\n');
    expect(await importPath(engine, writeFile(dir, 'am.ndjson', nd), { kind: 'alerts' })).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const db = new Database(workspace, { readonly: true });
    const rows = db.prepare('SELECT external_id, name, severity, ts, resolved_ts FROM alerts ORDER BY ts').raw().all();
    db.close();
    expect(rows).toEqual([['a1', 'HighErrorRate', 1, Date.UTC(2024, 2, 10, 9, 45, 12, 123), Date.UTC(2024, 2, 10, 10, 10)], ['a2', 'DiskFilling', 3, Date.UTC(2024, 2, 11, 12), null]]);
  });

  it('reads CSV and NDJSON that start with a byte order mark (Excel "CSV UTF-8", ServiceNow)', async () => {
    const csv = '\uFEFF"number","service","priority","opened_at"\r\n"INC1","api","2","2026-01-05T09:00:00Z"\r\n';
    expect(await importPath(engine, writeFile(dir, 'snow.csv', csv), { kind: 'incidents', mapping: { number: 'id', priority: 'severity', opened_at: 'started' } })).toMatchObject({ status: 'imported', rowsAccepted: 1 });
    const nd = '\uFEFF{"id":"c1","service":"api","timestamp":"2026-01-05T09:00:00Z"}\r\n{"id":"c2","service":"api","timestamp":"2026-01-05T10:00:00Z"}\r\n';
    expect(await importPath(engine, writeFile(dir, 'changes.ndjson', nd), { kind: 'changes' })).toMatchObject({ status: 'imported', rowsAccepted: 2 });
  });

  it('reads a written null, NaN or "-" as a gap in every telemetry format, counted, not as a bad row', async () => {
    const before = points().length;
    const wide = 'time,gapsvc/a,gapsvc/b\n2026-03-01T00:00:00Z,1,null\n2026-03-01T00:01:00Z,NaN,2\n2026-03-01T00:02:00Z,-,N/A\n';
    expect(await importPath(engine, writeFile(dir, 'nulls-wide.csv', wide), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 2, samplesWithoutValue: 4, rejected: [] });
    const long = 'timestamp,service,metric,value\n2026-03-01T00:00:00Z,gapsvc,c,3\n2026-03-01T00:01:00Z,gapsvc,c,\n2026-03-01T00:02:00Z,gapsvc,c,null\n';
    const longReport = await importPath(engine, writeFile(dir, 'nulls-long.csv', long), { kind: 'telemetry' });
    expect(longReport).toMatchObject({ status: 'imported', rowsAccepted: 1, samplesWithoutValue: 2, rejected: [] });
    expect(longReport.message).toContain('2 samples without a number (NaN, ±Inf, null, no recorded value, an empty cell) left as gaps');
    const nd = '{"timestamp":"2026-03-01T00:00:00Z","service":"gapsvc","metric":"d","value":4}\n{"timestamp":"2026-03-01T00:01:00Z","service":"gapsvc","metric":"d","value":null}\n';
    expect(await importPath(engine, writeFile(dir, 'nulls.ndjson', nd), { kind: 'telemetry' })).toMatchObject({ status: 'imported', rowsAccepted: 1, samplesWithoutValue: 1 });
    // A value key that is not there at all is the file's shape, not a gap.
    const missing = await importPath(engine, writeFile(dir, 'novalue.ndjson', '{"timestamp":"2026-03-01T00:00:00Z","service":"gapsvc","metric":"e"}\n'), { kind: 'telemetry', dryRun: true });
    expect(missing.rejected).toEqual([{ line: 1, reason: 'value is missing' }]);
    expect(points().length - before).toBe(4);
    expect(points().filter((p) => p.service === 'gapsvc').map((p) => `${p.metric}=${p.value}`).sort()).toEqual(['a=1', 'b=2', 'c=3', 'd=4']);
  });

  it('keeps every point, gap and line number of a file far bigger than one hand-over to the writer', async () => {
    // 700 rows × 12 columns = 8400 cells, handed on a few thousand points at a time; row 400 has a
    // bad value past the first hand-over, every 7th cell of column 5 is a gap.
    const columns = Array.from({ length: 12 }, (_, j) => `svc${j % 3}/m${j}`);
    const lines = [`time,${columns.join(',')}`];
    for (let r = 0; r < 700; r++) {
      lines.push([1767600000 + r * 60, ...columns.map((_, j) => (j === 5 && r % 7 === 0 ? '' : r === 400 && j === 9 ? '12a' : String(r * 100 + j)))].join(','));
    }
    const file = writeFile(dir, 'big-wide.csv', `${lines.join('\n')}\n`);
    const strict = await importPath(engine, file, { kind: 'telemetry' });
    expect(strict.status).toBe('refused');
    expect(strict.rejected).toEqual([expect.objectContaining({ line: 402, reason: expect.stringMatching(/value "12a" is not a number/) })]);
    const report = await importPath(engine, file, { kind: 'telemetry', acceptValidRows: true });
    const gaps = Math.ceil(700 / 7);
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 700 * 12 - gaps - 1, rowsRejected: 1 });
    const stored = points();
    expect(stored).toHaveLength(700 * 12 - gaps - 1);
    const byKey = new Map(stored.map((p) => [`${p.service}/${p.metric}@${p.ts}`, p.value]));
    for (let r = 0; r < 700; r++) {
      for (let j = 0; j < 12; j++) {
        const expected = (j === 5 && r % 7 === 0) || (r === 400 && j === 9) ? undefined : r * 100 + j;
        expect(byKey.get(`${columns[j]}@${(1767600000 + r * 60) * 1000}`)).toBe(expected);
      }
    }
  });
});

describe('delimited text from spreadsheets in other locales', () => {
  it('reads semicolon- and tab-separated files, and keeps semicolons inside a comma-separated file\'s quoted fields', async () => {
    const semi = await importPath(engine, writeFile(dir, 'semi.csv', 'timestamp;service;metric;value\n2026-09-01T00:00:00Z;api;cpu;1.5\n2026-09-01T00:01:00Z;api;cpu;2\n'), { kind: 'telemetry' });
    expect(semi).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const tab = await importPath(engine, writeFile(dir, 'tab.tsv', 'timestamp\tservice\tmetric\tvalue\n2026-09-01T00:00:00Z\tapi\tmem\t7\n'), { kind: 'telemetry' });
    expect(tab).toMatchObject({ status: 'imported', rowsAccepted: 1 });
    expect(points().filter((p) => p.service === 'api').map((p) => [p.metric, p.value])).toEqual([['cpu', 1.5], ['cpu', 2], ['mem', 7]]);
    // Two columns and a final line break: papaparse's own guess counted the empty last line as a
    // one-field row and read the file as one column ("time;load" as a single name).
    const two = await importPath(engine, writeFile(dir, 'two.csv', 'time;load\n2026-09-02T00:00:00Z;3\n'), { kind: 'telemetry', defaultService: 'two-col' });
    expect(two).toMatchObject({ status: 'imported', format: 'wide-csv', rowsAccepted: 1 });
    expect(points().filter((p) => p.service === 'two-col').map((p) => [p.metric, p.value])).toEqual([['load', 3]]);
    // A wide export with semicolons is recognised as wide too.
    const wide = await importPath(engine, writeFile(dir, 'wide-semi.csv', 'Time;checkout/cpu;checkout/mem\n2026-09-01T00:00:00Z;1.5;20\n'), { kind: 'telemetry' });
    expect(wide).toMatchObject({ status: 'imported', format: 'wide-csv', rowsAccepted: 2 });
    expect(points().filter((p) => p.service === 'checkout').map((p) => [p.metric, p.value])).toEqual([['cpu', 1.5], ['mem', 20]]);
    // A decimal comma is not guessed at: the row is named.
    const comma = await importPath(engine, writeFile(dir, 'decimal-comma.csv', 'timestamp;service;metric;value\n2026-09-01T00:00:00Z;api;disk;1,5\n'), { kind: 'telemetry' });
    expect(comma.message).toMatch(/line 2: value "1,5" is not a number/);
    const changes = await importPath(engine, writeFile(dir, 'changes.csv', 'id,service,timestamp,description\nc1,api,2026-09-01T00:00:00Z,"fix; then; deploy; again"\nc2,api,2026-09-01T00:01:00Z,"a; b; c"\n'), { kind: 'changes' });
    expect(changes).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT description FROM changes ORDER BY external_id').pluck().all()).toEqual(['fix; then; deploy; again', 'a; b; c']);
    db.close();
  });
});

describe('spreadsheet habits in CSV headers and rows', () => {
  it('refuses a header that names a column twice, drops empty trailing cells, and names a value under a nameless column', async () => {
    const dup = await importPath(engine, writeFile(dir, 'dup.csv', 'timestamp,service,metric,value,value\n2026-09-01T00:00:00Z,api,cpu,1,2\n'), { kind: 'telemetry' });
    expect(dup.message).toBe('dup.csv: the header names column "value" twice (columns 4 and 5); rename one so each column means one thing');
    const wideDup = await importPath(engine, writeFile(dir, 'wide-dup.csv', 'Time,checkout/cpu,checkout/cpu\n2026-09-01T00:00:00Z,1,2\n'), { kind: 'telemetry' });
    expect(wideDup).toMatchObject({ status: 'refused', format: 'wide-csv' });
    expect(wideDup.message).toMatch(/names column "checkout\/cpu" twice \(columns 2 and 3\)/);
    // `…,1,` and `…,2,,` past a four-column header: empty cells, nothing lost.
    const trailing = await importPath(engine, writeFile(dir, 'trailing.csv', 'timestamp,service,metric,value\n2026-09-01T00:00:00Z,api,cpu,1,\n2026-09-01T00:01:00Z,api,cpu,2,,\n'), { kind: 'telemetry' });
    expect(trailing).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const extra = await importPath(engine, writeFile(dir, 'extra.csv', 'timestamp,service,metric,value\n2026-09-01T00:02:00Z,api,cpu,3,7\n'), { kind: 'telemetry' });
    expect(extra.message).toMatch(/line 2: expected 4 fields \(timestamp,service,metric,value\), found 5/);
    const nameless = await importPath(engine, writeFile(dir, 'nameless.csv', 'Time,checkout/cpu,,\n2026-09-01T00:00:00Z,1,,\n2026-09-01T00:01:00Z,2,5,\n'), { kind: 'telemetry' });
    expect(nameless.message).toMatch(/line 3: column 3 has a value \("5"\) but no name in the header/);
    expect(points().map((p) => [p.service, p.metric, p.value])).toEqual([['api', 'cpu', 1], ['api', 'cpu', 2]]);
  });
});

describe('local times from tools that export in a named zone', () => {
  it('reads them with the zone\'s daylight saving time; an unknown zone is refused before reading', async () => {
    const text = 'id,service,severity,started\ni-winter,api,2,2026-01-15 09:00:00\ni-summer,api,2,2026-07-15 09:00:00\n';
    const report = await importPath(engine, writeFile(dir, 'servicenow.csv', text), { kind: 'incidents', timeZone: 'America/Los_Angeles' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT external_id, started_ts FROM incidents ORDER BY started_ts').raw().all()).toEqual([['i-winter', Date.UTC(2026, 0, 15, 17)], ['i-summer', Date.UTC(2026, 6, 15, 16)]]);
    db.close();
    const unknown = await importPath(engine, writeFile(dir, 'other.csv', text.replace(/i-/g, 'j-')), { kind: 'incidents', timeZone: 'Pacific/Atlantis' });
    expect(unknown).toMatchObject({ status: 'refused', rowsRead: 0 });
    expect(unknown.message).toBe('other.csv: unknown time zone "Pacific/Atlantis": use UTC, an offset like +02:00, or a name like Europe/Berlin');
    // An abbreviation is refused, not read as whatever the runtime takes it for (BST was Bangladesh, +06:00).
    for (const zone of ['BST', 'EST', 'IST', 'CET']) {
      const abbreviated = await importPath(engine, writeFile(dir, 'other.csv', text.replace(/i-/g, 'k-')), { kind: 'incidents', timeZone: zone });
      expect(abbreviated, zone).toMatchObject({ status: 'refused', rowsRead: 0 });
      expect(abbreviated.message, zone).toBe(`other.csv: time zone "${zone}" is an abbreviation or a legacy name, which can mean several zones (BST is British Summer Time and Bangladesh; EST has no summer time): give a tz database name such as Europe/London or America/New_York, or a fixed offset such as -05:00`);
    }
    const london = await importPath(engine, writeFile(dir, 'london.csv', text.replace(/i-/g, 'l-')), { kind: 'incidents', timeZone: 'Europe/London' });
    expect(london).toMatchObject({ status: 'imported', rowsAccepted: 2 });
  });
});

describe('ids repeated within one file', () => {
  it('are a conflict when the rows differ (named, with the first line), a duplicate when they do not', async () => {
    const text = 'id,service,timestamp,author\nc1,api,2026-09-01T00:00:00Z,ann\nc2,api,2026-09-01T00:05:00Z,ann\nc1,api,2026-09-02T00:00:00Z,bob\nc2,api,2026-09-01T00:05:00Z,ann\n';
    const strict = await importPath(engine, writeFile(dir, 'redeploys.csv', text), { kind: 'changes' });
    expect(strict).toMatchObject({ status: 'refused', rowsRejected: 1 });
    expect(strict.rejected).toEqual([{ line: 4, reason: 'change c1 is already at line 2 of this file with a different timestamp, author; ids must be unique (a redeploy of one commit needs its own id)' }]);
    const lenient = await importPath(engine, writeFile(dir, 'redeploys.csv', text), { kind: 'changes', acceptValidRows: true });
    expect(lenient).toMatchObject({ status: 'imported', rowsAccepted: 2, rowsRejected: 1, duplicatesSkipped: 1 });
    const incidents = await importPath(engine, writeFile(dir, 'incidents.csv', 'id,service,severity,started\ni1,api,2,2026-09-01T01:00:00Z\ni1,api,1,2026-09-01T01:00:00Z\n'), { kind: 'incidents' });
    expect(incidents.rejected[0]?.reason).toBe('incident i1 is already at line 2 of this file with a different severity; ids must be unique');
  });
});

describe('files that are not text exports', () => {
  it('are refused saying what they are and what to do, leaving the workspace as it was', async () => {
    const random = Buffer.alloc(3000);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 251;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['book.xlsx', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), random]), /this is a ZIP archive, not a text export \(CSV, NDJSON or JSON\); an Excel \.xlsx workbook is one: save the sheet as CSV/],
      ['old.xls', Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0]), random]), /old Office document/],
      ['copy.csv', Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), random]), /an SQLite database.*Home page or with --workspace/],
      ['chart.csv', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), random]), /a PNG image/],
      ['unicode.txt', Buffer.from('\ufefftimestamp,service,metric,value\n', 'utf16le'), /UTF-16 text .*save it as "CSV UTF-8"/],
      ['noise.csv', random, /does not look like text/],
      ['noise.csv.gz', zlib.gzipSync(random), /does not look like text/],
    ];
    for (const [name, bytes, reason] of cases) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      const report = await importPath(engine, file, { kind: 'telemetry' });
      expect(report.status, name).toBe('refused');
      expect(report.message, name).toMatch(reason);
    }
    // Latin-1 text (a Windows export with accents) is text, not binary: the reader names its rows.
    const latin1 = Buffer.from(`timestamp,service,metric,value\n${Array.from({ length: 60 }, (_, i) => `2026-09-01T00:${String(i).padStart(2, '0')}:00Z,caf\xe9-\xe0-\xfc,cpu,${i}`).join('\n')}\n`, 'latin1');
    const file = path.join(dir, 'latin1.csv');
    fs.writeFileSync(file, latin1);
    expect((await importPath(engine, file, { kind: 'telemetry' })).message).toMatch(/line 2: invalid UTF-8 in this row/);
    const db = new Database(workspace, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM sources').pluck().get()).toBe(0);
    db.close();
    expect(points()).toEqual([]);
  });
});

describe('dry runs and saved mappings from the CLI', () => {
  it('a dry run reports what would be rejected and writes nothing; a saved mapping imports the next file by name', async () => {
    const { cli } = await import('../helpers/cli.js');
    engine.close();
    const first = writeFile(dir, 'odd-1.csv', 'when,svc,what,reading\n2026-01-05T09:00:00Z,checkout,queue,4\n2026-01-05T09:01:00Z,checkout,queue,lots\n');
    const dry = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--map', 'when=timestamp', '--map', 'svc=service', '--map', 'what=metric', '--map', 'reading=value', '--save-mapping', 'odd', '--dry-run', first]);
    expect(dry.code).toBe(1);
    expect(dry.out).toMatch(/1 row would be imported, 1 rejected \(first at line 3: value "lots" is not a number\); as it stands the file would be refused whole/);
    // A dry run writes nothing, not even the mapping; nor does an import that is refused.
    expect(dry.err).toContain('--save-mapping odd: not saved on a dry run');
    const refused = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--map', 'when=timestamp', '--map', 'svc=service', '--map', 'what=metric', '--map', 'reading=value', '--save-mapping', 'odd', first]);
    expect(refused.code).toBe(2);
    expect(refused.out).not.toMatch(/saved mapping/);
    expect(points()).toEqual([]);
    const second = writeFile(dir, 'odd-2.csv', 'when,svc,what,reading\n2026-01-05T09:02:00Z,checkout,queue,5\n');
    const third = writeFile(dir, 'odd-3.csv', 'when,svc,what,reading\n2026-01-05T09:03:00Z,checkout,queue,6\n');
    expect((await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--mapping', 'odd', second])).err).toMatch(/--mapping odd: no saved mapping by that name \(saved: none\)/);
    const saving = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--map', 'when=timestamp', '--map', 'svc=service', '--map', 'what=metric', '--map', 'reading=value', '--save-mapping', 'odd', second]);
    expect([saving.code, saving.out]).toEqual([0, expect.stringMatching(/saved mapping odd v1\n$/)]);
    const real = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--mapping', 'odd', third]);
    expect(real.code).toBe(0);
    expect(points().map((p) => [p.service, p.metric, p.value])).toEqual([['checkout', 'queue', 5], ['checkout', 'queue', 6]]);
    const unknown = await cli(['import', '--workspace', workspace, '--kind', 'telemetry', '--mapping', 'nope', second]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--mapping nope: no saved mapping by that name \(saved: odd\)/);
    const wrongKind = await cli(['import', '--workspace', workspace, '--kind', 'changes', '--mapping', 'odd', second]);
    expect(wrongKind.err).toMatch(/--mapping odd is for telemetry, not changes/);
  });
});

describe('incident exports from PagerDuty and ServiceNow-like tools', () => {
  it('reads a PagerDuty incident CSV export by its documented column names; a ServiceNow-like one through an explicit mapping', async () => {
    const pd = 'id,incident_number,title,description,service_name,urgency,status,created_on,resolved_on,escalation_policy\n'
      + 'Q1ABC,101,Checkout 5xx,Checkout 5xx,checkout,high,resolved,2026-01-05T09:03:00Z,2026-01-05T09:40:00Z,Payments\n'
      + 'Q1ABD,102,Search slow,Search slow,search,low,resolved,2026-01-06T10:00:00-05:00,2026-01-06T16:00:00Z,Search\n';
    const report = await importPath(engine, writeFile(dir, 'pagerduty.csv', pd), { kind: 'incidents', mapping: { incident_number: 'ignore', description: 'ignore' } });
    expect(report.status).toBe('imported');
    const rows = (await engine.call('incidents.page', { order: 'asc' })).rows;
    expect(rows.map((i) => [i.externalId, i.service, i.severity, new Date(i.startedTs).toISOString()])).toEqual([
      ['Q1ABC', 'checkout', 1, '2026-01-05T09:03:00.000Z'], ['Q1ABD', 'search', 3, '2026-01-06T15:00:00.000Z'],
    ]);
    const snow = 'number,short_description,cmdb_ci,priority,opened_at,sys_created_on,resolved_at\nINC0010001,DB failover,ledger,1 - Critical,2026-01-07 08:00:00,2026-01-07 08:05:00,2026-01-07 09:00:00\n';
    // ServiceNow's own column names map on their own (cmdb_ci is the service, short_description the
    // title); its display times carry no zone, so the import asks for one.
    const refused = await importPath(engine, writeFile(dir, 'snow.csv', snow), { kind: 'incidents' });
    expect(refused.message).toMatch(/has no time zone/);
    expect(refused.mapping).toEqual({ number: 'id', short_description: 'title', cmdb_ci: 'service', priority: 'severity', opened_at: 'started', resolved_at: 'resolved' });
    const mapped = await importPath(engine, writeFile(dir, 'snow.csv', snow), { kind: 'incidents', mapping: { sys_created_on: 'detected' }, timeZone: 'UTC' });
    expect(mapped.status).toBe('imported');
    const ledger = (await engine.call('incidents.page', { order: 'asc' })).rows.find((i) => i.service === 'ledger')!;
    expect([ledger.externalId, ledger.severity, new Date(ledger.detectedTs!).toISOString()]).toEqual(['INC0010001', 1, '2026-01-07T08:05:00.000Z']);
  });

  it('takes the urgency where a PagerDuty account leaves the priority empty', async () => {
    const pd = 'id,title,service_name,urgency,priority,created_on\n'
      + 'Q2A,Cart errors,cart,high,,2026-02-03T09:00:00Z\nQ2B,Cart slow,cart,low,,2026-02-03T10:00:00Z\nQ2C,Cart down,cart,high,P1,2026-02-03T11:00:00Z\n';
    const report = await importPath(engine, writeFile(dir, 'pd-nopriority.csv', pd), { kind: 'incidents' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 3, mapping: { priority: 'severity' } });
    const rows = (await engine.call('incidents.page', { order: 'asc', limit: 1000 })).rows.filter((i) => i.externalId.startsWith('Q2'));
    expect(rows.map((i) => [i.externalId, i.severity])).toEqual([['Q2A', 1], ['Q2B', 3], ['Q2C', 1]]);
  });
});
