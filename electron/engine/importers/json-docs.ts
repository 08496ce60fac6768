import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { JsonItemScanner } from './json-items.js';
import { parseSeries, SampleColumns } from './prometheus-samples.js';
import type { RawRow, RecordReader } from './reader.js';

/**
 * Exports that are one big JSON document (or one document per line): Prometheus API responses,
 * OTLP/JSON metric exports, GitHub deployments, Argo CD application history. The repeated items
 * (a series, a resource's metrics, a deployment) are picked one at a time (json-items.ts), so
 * memory holds one item, not the file. Each item becomes canonical rows (fields already named, labels
 * apart): these formats say what their fields are, so nothing is guessed from names.
 *
 * "line" in a report is the item's position (1-based); the reason names the path inside it.
 */

/**
 * A value picked from the input, numbered across the file. Read one document per line, it also
 * knows its line and its position within that line's document, which errors then name (in a
 * pretty-printed document a scanner sees no lines, and the running number stands in).
 */
export interface Item { index: number; value: unknown; line?: number; position?: number }

/** Where an item is, as errors name it: its line (else its running number) and its index in the document. */
const placeOf = (item: Item): { line: number; k: number } => ({ line: item.line ?? item.index + 1, k: item.position ?? item.index });

/**
 * A file whose first line is a JSON document of at most FIRST_LINE bytes is read line by line; a
 * parsed document costs 20-30× its text in memory, so anything bigger is streamed (a 23 MB
 * Prometheus response parsed whole peaked at 633 MB). Later lines may be up to LINE_LIMIT.
 */
const FIRST_LINE = 4 * 1024 * 1024;
const LINE_LIMIT = 16 * 1024 * 1024;

/**
 * Streams the values at paths matching `filter`, across all top-level documents in the input.
 * Files of one document per line (an OTLP exporter's output, an API response saved as is) are read
 * line by line with JSON.parse; anything else (a pretty-printed document, or one longer than
 * LINE_LIMIT) is scanned for its items (json-items.ts), so memory holds one item, not the file.
 */
export async function* pickItems(input: Readable, filter: RegExp, parseItem?: (text: string) => unknown): AsyncIterable<Item[]> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const seen: Buffer[] = [];
  let seenBytes = 0;
  let firstLine: string | null = null;
  let ended = false;
  // Read until the first line ends (or is clearly too long to hold).
  while (firstLine === null && seenBytes <= FIRST_LINE) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      firstLine = Buffer.concat(seen).toString('utf8');
      break;
    }
    seen.push(next.value);
    seenBytes += next.value.length;
    const nl = next.value.indexOf(10);
    if (nl >= 0) firstLine = Buffer.concat(seen).toString('utf8', 0, seenBytes - next.value.length + nl);
  }
  if (firstLine !== null && firstLine.length <= FIRST_LINE && isJson(firstLine)) {
    yield* pickLines(seen, ended ? null : chunks, filter);
    return;
  }
  yield* pickStream(Readable.from(replay(seen, ended ? null : chunks)), filter, parseItem);
}

function isJson(line: string): boolean {
  const text = line.replace(/^\uFEFF/, '').trim();
  if (text === '' || (text[0] !== '{' && text[0] !== '[')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function* replay(seen: Buffer[], rest: AsyncIterator<Buffer> | null): AsyncIterable<Buffer> {
  yield* seen;
  if (!rest) return;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** The values at paths matching `filter` in one parsed document, in document order (not inside a match, as stream-json's Pick). */
function walk(value: unknown, path: string, filter: RegExp, out: unknown[]): void {
  if (path !== '' && filter.test(path)) {
    out.push(value);
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, path === '' ? String(i) : `${path}.${i}`, filter, out));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`, filter, out);
}

async function* pickLines(seen: Buffer[], rest: AsyncIterator<Buffer> | null, filter: RegExp): AsyncIterable<Item[]> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  let index = 0;
  const parse = (text: string): Item[] => {
    line++;
    const trimmed = line === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
    if (trimmed === '') return [];
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      throw new Error(`line ${line} is not a complete JSON document (${(err as Error).message})`);
    }
    const values: unknown[] = [];
    walk(doc, '', filter, values);
    return values.map((value, position) => ({ index: index++, value, line, position }));
  };
  const feed = (text: string): Item[] => {
    pending += text;
    const items: Item[] = [];
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      items.push(...parse(pending.slice(0, nl)));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > LINE_LIMIT) throw new Error(`line ${line + 1} is longer than ${LINE_LIMIT / 1024 / 1024} MB; write one document per line, or the whole file as one document`);
    return items;
  };
  for (const b of seen) {
    const items = feed(decoder.write(b));
    if (items.length) yield items;
  }
  if (rest) {
    for (let next = await rest.next(); !next.done; next = await rest.next()) {
      const items = feed(decoder.write(next.value));
      if (items.length) yield items;
    }
  }
  const last = parse(pending + decoder.end());
  if (last.length) yield last;
}

async function* pickStream(input: Readable, filter: RegExp, parseItem?: (text: string) => unknown): AsyncIterable<Item[]> {
  const decoder = new StringDecoder('utf8');
  const scanner = new JsonItemScanner(filter, undefined, parseItem);
  let index = 0;
  const numbered = (values: unknown[]): Item[] => values.map((value) => ({ index: index++, value }));
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const items = scanner.push(decoder.write(chunk));
    if (items.length > 0) yield numbered(items);
  }
  const last = [...scanner.push(decoder.end()), ...scanner.end()];
  if (last.length > 0) yield numbered(last);
}

/** `gap`: the source says this sample has no number (NaN, ±Inf, no recorded value); not a bad row. */
/**
 * `gap`: a sample the source marks as having no number. `environment`: where a deployment went;
 * with `elsewhere` set it went to an environment the import leaves out.
 */
export type CanonicalRow = RawRow & { extra?: Record<string, unknown>; gap?: string; environment?: string; elsewhere?: true };

// Prometheus writes non-finite sample values as these strings (its API's documented string form).
const PROMETHEUS_NO_NUMBER = new Set(['NaN', '+Inf', '-Inf', 'Inf']);
// Proto3's JSON mapping writes non-finite doubles as these strings.
const PROTO_NO_NUMBER = new Set(['NaN', 'Infinity', '-Infinity']);
// OTLP's DataPointFlags: FLAG_NO_RECORDED_VALUE, set on a point that marks a series as stale.
const OTLP_NO_RECORDED_VALUE = 1;

export interface CanonicalReader extends RecordReader {
  canonical: true;
  batches(): AsyncIterable<CanonicalRow[]>;
}

/**
 * Rows handed on at a time: a long series (50k samples) is not turned into rows all at once. Small,
 * so rows die before the next scavenge instead of being promoted (4096 promoted ~10 % more).
 */
const ROWS_PER_BATCH = 512;

export function canonicalReader(input: Readable, filter: RegExp, toRows: (item: Item) => Iterable<CanonicalRow>, parseItem?: (text: string) => unknown): CanonicalReader {
  return {
    canonical: true,
    columns: async () => null,
    async *batches() {
      for await (const items of pickItems(input, filter, parseItem)) {
        let rows: CanonicalRow[] = [];
        for (const item of items) {
          for (const row of toRows(item)) {
            rows.push(row);
            if (rows.length === ROWS_PER_BATCH) {
              yield rows;
              rows = [];
            }
          }
        }
        if (rows.length > 0) yield rows;
      }
    },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v.slice(0, 40)}"` : typeof v);

/**
 * Prometheus `/api/v1/query_range` (matrix) and `/api/v1/query` (vector, or a matrix for a range
 * selector) responses. Each series: `metric` labels and `values` [[unix seconds, "value"], …] or
 * one `value`. The service comes from `serviceLabel` (default: the first of service, job, app,
 * instance); the metric name from `__name__`, or `metricName` when the query has none (e.g. rate()).
 */
export function prometheusReader(input: Readable, options: { serviceLabel?: string | undefined; metricName?: string | undefined; defaultService?: string | undefined }): CanonicalReader {
  return canonicalReader(input, /^data\.result\.\d+$/, function* (item): Generator<CanonicalRow> {
    const { value } = item;
    const { line, k } = placeOf(item);
    const at = `data.result[${k}]`;
    if (!isObject(value) || !isObject(value.metric)) {
      yield { line, error: `${at}: a series is {"metric": {labels}, "values": [[time, "value"], …]}, got ${describe(value)}` };
      return;
    }
    const labels = value.metric as Record<string, unknown>;
    const serviceKey = options.serviceLabel ?? ['service', 'job', 'app', 'instance'].find((k) => typeof labels[k] === 'string');
    const service = serviceKey ? labels[serviceKey] : undefined;
    if (typeof service !== 'string' && !options.defaultService) {
      yield { line, error: `${at}: no ${options.serviceLabel ? `"${options.serviceLabel}"` : 'service, job, app or instance'} label to take the service from (labels: ${Object.keys(labels).join(', ') || 'none'}); choose one with --service-label or give --service` };
      return;
    }
    const metric = typeof labels.__name__ === 'string' ? labels.__name__ : options.metricName;
    if (!metric) {
      yield { line, error: `${at}: the series has no __name__ (a query like rate() drops it); name the metric with --metric-name` };
      return;
    }
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(labels)) if (k !== '__name__' && k !== serviceKey) extra[k] = v;
    if (value.values instanceof SampleColumns) {
      yield* columnRows(value.values, { line, at, service: typeof service === 'string' ? service : options.defaultService, metric, extra });
      return;
    }
    const samples = Array.isArray(value.values) ? value.values : value.value !== undefined ? [value.value] : null;
    if (!samples) {
      // Native histograms (Prometheus 2.40+) come as "histograms"/"histogram": buckets, not one number per sample.
      if ('histograms' in value || 'histogram' in value) yield { line, error: `${at}: a native histogram series has buckets, not one value per sample; query a number from it, e.g. histogram_quantile(0.99, rate(${typeof labels.__name__ === 'string' ? labels.__name__ : 'metric'}[5m]))` };
      else yield { line, error: `${at}: no "values" (matrix) or "value" (vector)` };
      return;
    }
    // One row at a time (a generator): a series of 50k samples is not held as 50k rows too.
    for (let j = 0; j < samples.length; j++) {
      const s: unknown = samples[j];
      const where = Array.isArray(value.values) ? `${at}.values[${j}]` : `${at}.value`;
      if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== 'number') {
        yield { line, error: `${where}: a sample is [unix seconds, "value"], got ${describe(s)}` };
        continue;
      }
      const raw: unknown = s[1];
      const v = typeof raw === 'string' ? Number(raw) : Number.NaN;
      // Number('') and Number(' ') are 0: only a real number, written out, is one. Each row is one object
      // built whole: building it from a spread of a shared prefix doubled this import's peak memory.
      if (Number.isFinite(v) && (v !== 0 || (raw as string).trim() !== '')) {
        yield { line, values: { timestamp: Math.round(s[0] * 1000), service: typeof service === 'string' ? service : options.defaultService, metric, value: v }, extra };
      } else if (typeof raw === 'string' && PROMETHEUS_NO_NUMBER.has(raw)) {
        yield { line, values: { timestamp: Math.round(s[0] * 1000), service: typeof service === 'string' ? service : options.defaultService, metric }, extra, gap: raw };
      } else yield { line, error: `${where}: value ${describe(raw)} is not a number in Prometheus' string form` };
    }
  }, parseSeries);
}

/** The rows of samples read into columns (prometheus-samples.ts): as the loop above makes them from arrays. */
function* columnRows(c: SampleColumns, s: { line: number; at: string; service: string | undefined; metric: string; extra: Record<string, unknown> }): Generator<CanonicalRow> {
  const { line, service, metric, extra } = s;
  for (let j = 0; j < c.length; j++) {
    const timestamp = Math.round(c.times[j]! * 1000);
    const raw = c.raw.get(j);
    if (raw === undefined) yield { line, values: { timestamp, service, metric, value: c.values[j]! }, extra };
    else if (PROMETHEUS_NO_NUMBER.has(raw)) yield { line, values: { timestamp, service, metric }, extra, gap: raw };
    else yield { line, error: `${s.at}.values[${j}]: value ${describe(raw)} is not a number in Prometheus' string form` };
  }
}

type Attr = { key?: unknown; value?: Record<string, unknown> };
function attributeValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  for (const k of ['stringValue', 'boolValue', 'intValue', 'doubleValue']) if (k in v) return v[k];
  return undefined;
}
function attributes(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Array.isArray(list)) for (const a of list as Attr[]) if (typeof a?.key === 'string') out[a.key] = attributeValue(a.value);
  return out;
}

/**
 * OTLP/JSON metrics (ExportMetricsServiceRequest): resourceMetrics → scopeMetrics → metrics, gauge
 * and sum data points with `timeUnixNano` and `asDouble` / `asInt`. The resource's service.name is
 * the service, its instance the `instance` label; point attributes become labels. One request per line works too.
 */
export function otlpReader(input: Readable, options: { defaultService?: string | undefined }): CanonicalReader {
  return canonicalReader(input, /^resourceMetrics\.\d+$/, (item) => {
    const { value } = item;
    const { line, k } = placeOf(item);
    const at = `resourceMetrics[${k}]`;
    if (!isObject(value)) return [{ line, error: `${at}: expected an object, got ${describe(value)}` }];
    const resource = attributes(isObject(value.resource) ? value.resource.attributes : undefined);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : options.defaultService;
    if (!service) return [{ line, error: `${at}: the resource has no service.name attribute; give --service` }];
    // Two pods of one service report the same metric at the same time: without the instance their
    // points were one series, and the second pod's value was dropped as "already present". As
    // Prometheus's OTLP receiver does, the instance (service.instance.id, else the host or pod
    // name) becomes the `instance` label; other resource attributes describe the process, not the series.
    const instanceOf = ['service.instance.id', 'host.name', 'k8s.pod.name'].map((k) => resource[k]).find((v) => typeof v === 'string' && v !== '');
    const instance = instanceOf !== undefined ? String(instanceOf) : null;
    // Only where there is an instance: a copy of every point's labels costs a big import memory.
    const labelsOf = (point: Record<string, unknown>): Record<string, unknown> => {
      const own = attributes(point.attributes);
      return instance === null || 'instance' in own ? own : { instance, ...own };
    };
    if (!Array.isArray(value.scopeMetrics)) return [{ line, error: `${at}: no scopeMetrics array` }];
    const rows: CanonicalRow[] = [];
    value.scopeMetrics.forEach((scope: unknown, si: number) => {
      const metrics = isObject(scope) && Array.isArray(scope.metrics) ? scope.metrics : null;
      if (!metrics) return void rows.push({ line, error: `${at}.scopeMetrics[${si}]: no metrics array` });
      metrics.forEach((m: unknown, mi: number) => {
        const where = `${at}.scopeMetrics[${si}].metrics[${mi}]`;
        if (!isObject(m) || typeof m.name !== 'string') return void rows.push({ line, error: `${where}: a metric needs a name` });
        const data = isObject(m.gauge) ? m.gauge : isObject(m.sum) ? m.sum : null;
        if (!data) {
          // Histograms and summaries have no single value per point; say so rather than drop them silently.
          return void rows.push({ line, error: `${where} (${m.name}): only gauge and sum metrics can be imported${Object.keys(m).find((k) => ['histogram', 'exponentialHistogram', 'summary'].includes(k)) ? `, not ${Object.keys(m).find((k) => ['histogram', 'exponentialHistogram', 'summary'].includes(k))}` : ''}` });
        }
        const points = Array.isArray(data.dataPoints) ? data.dataPoints : [];
        points.forEach((p: unknown, pi: number) => {
          const pw = `${where}.dataPoints[${pi}]`;
          if (!isObject(p)) return void rows.push({ line, error: `${pw}: expected an object` });
          const nanos = p.timeUnixNano;
          if ((typeof nanos !== 'string' && typeof nanos !== 'number') || !/^\d+$/.test(String(nanos))) return void rows.push({ line, error: `${pw}: timeUnixNano ${describe(nanos)} is not a whole number of nanoseconds` });
          const raw = p.asDouble !== undefined ? p.asDouble : p.asInt;
          const timestamp = Number(BigInt(String(nanos)) / 1_000_000n);
          const flags = typeof p.flags === 'number' ? p.flags : 0;
          // The OpenTelemetry JS SDK's JSON serialiser writes NaN and ±Infinity as null (JSON.stringify).
          if (raw === null || (raw === undefined && (flags & OTLP_NO_RECORDED_VALUE) !== 0) || (typeof raw === 'string' && PROTO_NO_NUMBER.has(raw))) {
            return void rows.push({ line, values: { timestamp, service, metric: m.name }, extra: labelsOf(p), gap: raw === undefined ? 'no recorded value' : String(raw) });
          }
          const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
          if (!Number.isFinite(v)) return void rows.push({ line, error: `${pw}: no numeric asDouble or asInt (got ${describe(raw)})` });
          // One object per row, built whole: a spread of a shared prefix doubled a big import's peak memory.
          rows.push({ line, values: { timestamp, service, metric: m.name, value: v }, extra: labelsOf(p) });
        });
      });
    });
    return rows;
  });
}

/**
 * GitHub REST deployments (`GET /repos/{owner}/{repo}/deployments`): an array of {id, sha, ref,
 * environment, created_at, creator.login, description, …}. The service is the repository (from
 * `repository_url`) unless given; `statuses_url` is not fetched — pair a deployment-statuses export
 * with it through `state` when present.
 */
export function githubDeploymentsReader(input: Readable, options: { defaultService?: string | undefined; environment?: string | undefined }): CanonicalReader {
  return canonicalReader(input, /^\d+$/, (item) => {
    const { value } = item;
    const { line, k: index } = placeOf(item);
    // `gh api --paginate --slurp` wraps each page in an array: a page's deployments, one by one.
    if (Array.isArray(value)) return value.flatMap((v: unknown, k: number) => deploymentRows(v, line, `[${index}][${k}]`, options));
    return deploymentRows(value, line, `[${index}]`, options);
  });
}

function deploymentRows(value: unknown, line: number, at: string, options: { defaultService?: string | undefined; environment?: string | undefined }): CanonicalRow[] {
  if (!isObject(value)) return [{ line, error: `${at}: a deployment is an object, got ${describe(value)}` }];
  if (typeof value.deployment_url === 'string' && value.sha === undefined) {
    return [{ line, error: `${at}: this is a deployment-statuses export (${value.deployment_url}/statuses), which holds no deploys; add each deployment's statuses to the deployments export as "statuses" and import that (README, "GitHub deployments")` }];
  }
  for (const k of ['id', 'sha', 'created_at'] as const) if (value[k] === undefined || value[k] === null) return [{ line, error: `${at}: a GitHub deployment has "${k}"; this one does not` }];
  const repo = typeof value.repository_url === 'string' ? value.repository_url.split('/').slice(-1)[0] : undefined;
  const service = options.defaultService ?? repo;
  if (!service) return [{ line, error: `${at}: no repository_url to take the service from; give --service` }];
  // The outcome is the latest status: a `state` on the deployment (GraphQL, or added by a script),
  // or the newest of the `statuses` the REST API lists for it, added to each deployment.
  const statuses = Array.isArray(value.statuses) ? value.statuses.filter((x: unknown): x is Record<string, unknown> => isObject(x) && typeof x.state === 'string') : [];
  const latest = statuses.reduce<Record<string, unknown> | null>((a, b) => (a === null || String(b.created_at ?? '') > String(a.created_at ?? '') ? b : a), null);
  const state = typeof value.state === 'string' ? value.state.toLowerCase() : latest ? String(latest.state).toLowerCase() : undefined;
  // Deploys to staging and to production are different events; the import may keep one environment.
  const environment = typeof value.environment === 'string' && value.environment !== '' ? value.environment : '(none)';
  if (options.environment !== undefined && environment !== options.environment) return [{ line, values: {}, environment, elsewhere: true }];
  return [{
    line,
    environment,
    values: {
      id: String(value.id), service, timestamp: value.created_at, kind: 'deploy',
      author: isObject(value.creator) && typeof value.creator.login === 'string' ? value.creator.login : null,
      version: String(value.sha), description: [value.environment, value.ref, value.description].filter((x) => typeof x === 'string' && x).join(' · '),
      // A deployment whose latest status is "failure" or "error" did not stay out.
      // "success" stayed out. "inactive" only says a later deploy replaced it, which is also how a
      // rollback (redeploying the older version) looks: unknown, not "not rolled back".
      ...(state === 'failure' || state === 'error' ? { rolled_back: 'true' } : state === 'success' ? { rolled_back: 'false' } : {}),
    },
  }];
}

/**
 * Argo CD application history: an Application (`status.history[]`) or a list of them
 * (`items[].status.history[]`); each entry {id, revision, deployedAt, deployStartedAt, source}.
 * The service is the application's name.
 */
export function argoHistoryReader(input: Readable, options: { defaultService?: string | undefined }): CanonicalReader {
  // One Application (kubectl or `argocd app get -o json`), a List of them (`items`), or a bare array (`argocd app list -o json`).
  return canonicalReader(input, /^(items\.\d+|\d+|metadata|status)$/, (() => {
    let name: string | undefined;
    return (item: Item): CanonicalRow[] => {
      const { value } = item;
      const { line } = placeOf(item);
      if (!isObject(value)) return [];
      // A single Application streams metadata before status; a list carries both in each item.
      if (isObject(value.metadata) || 'history' in value || 'name' in value) {
        const meta = isObject(value.metadata) ? value.metadata : 'name' in value ? value : null;
        if (meta && typeof meta.name === 'string') name = meta.name;
        const status = isObject(value.status) ? value.status : 'history' in value ? value : null;
        if (!status) return [];
        const history = Array.isArray(status.history) ? status.history : [];
        const service = options.defaultService ?? name;
        if (!service) return [{ line, error: 'an Argo CD application needs metadata.name (or give --service)' }];
        return history.map((h: unknown, i: number): CanonicalRow => {
          const at = `history[${i}]`;
          // A multi-source application records `revisions` and `sources`, one per source.
          const revision = h && isObject(h) ? (h.revision ?? (Array.isArray(h.revisions) && h.revisions.length > 0 ? h.revisions.join(',') : undefined)) : undefined;
          if (!isObject(h) || typeof h.deployedAt !== 'string' || revision === undefined) return { line, error: `${at}: an entry has deployedAt and revision (or revisions)` };
          const repos = isObject(h.source) && typeof h.source.repoURL === 'string' ? [h.source.repoURL]
            : Array.isArray(h.sources) ? h.sources.flatMap((x: unknown) => (isObject(x) && typeof x.repoURL === 'string' ? [x.repoURL] : [])) : [];
          const author = isObject(h.initiatedBy) && typeof h.initiatedBy.username === 'string' ? h.initiatedBy.username : undefined;
          return { line, values: { id: `${service}#${String(h.id ?? i)}`, service, timestamp: h.deployStartedAt ?? h.deployedAt, kind: 'deploy', version: String(revision), description: repos.join(', '), ...(author ? { author } : {}) } };
        });
      }
      return [];
    };
  })());
}
