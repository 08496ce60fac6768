import fs from 'node:fs';
import { EngineFailure } from '../errors.js';
import type { JobContext } from '../jobs/jobs.js';

/**
 * A live import from a Prometheus server's HTTP API: `query_range` over the requested span in
 * chunks (Prometheus refuses more than 11,000 points per series in one query), each response
 * written as one line of a local file that then goes through the ordinary Prometheus importer —
 * so a live import is validated, scrubbed, reported and deduplicated exactly like a file.
 */

export interface PrometheusQuery {
  url: string;
  query: string;
  from: number;
  until: number;
  stepSeconds: number;
  auth?: { user: string; password: string } | { bearer: string } | undefined;
}

/** Points per series per request: under Prometheus' 11,000 limit. */
const POINTS_PER_CHUNK = 10_000;

export function chunks(q: Pick<PrometheusQuery, 'from' | 'until' | 'stepSeconds'>): Array<[number, number]> {
  const stepMs = q.stepSeconds * 1000;
  const span = stepMs * POINTS_PER_CHUNK;
  const out: Array<[number, number]> = [];
  // Both ends of a query_range are inclusive; the next chunk starts one step after the last one ended.
  for (let start = q.from; start <= q.until; start += span) out.push([start, Math.min(q.until, start + span - stepMs)]);
  return out;
}

export async function fetchPrometheus(q: PrometheusQuery, file: string, job: JobContext): Promise<{ requests: number; series: number; bytes: number }> {
  let base: URL;
  try {
    base = new URL(q.url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new EngineFailure('input_error', `--prometheus ${q.url} is not an http(s) URL`);
  }
  if (!(q.stepSeconds > 0)) throw new EngineFailure('input_error', '--step must be a positive duration');
  if (q.until < q.from) throw new EngineFailure('input_error', '--until is before --from');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (q.auth && 'bearer' in q.auth) headers.authorization = `Bearer ${q.auth.bearer}`;
  else if (q.auth) headers.authorization = `Basic ${Buffer.from(`${q.auth.user}:${q.auth.password}`).toString('base64')}`;
  const parts = chunks(q);
  const out = fs.openSync(file, 'w');
  let series = 0;
  let bytes = 0;
  try {
    for (const [i, [start, end]] of parts.entries()) {
      job.throwIfCancelled();
      job.progress({ fraction: i / parts.length, message: `query_range ${i + 1} of ${parts.length}: ${new Date(start).toISOString()} → ${new Date(end).toISOString()}` });
      const url = new URL('api/v1/query_range', base.href.endsWith('/') ? base : `${base.href}/`);
      url.search = new URLSearchParams({ query: q.query, start: String(start / 1000), end: String(end / 1000), step: String(q.stepSeconds) }).toString();
      let response: Response;
      try {
        response = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new EngineFailure('input_error', `Cannot reach Prometheus at ${base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      }
      const text = await response.text();
      if (response.status === 401 || response.status === 403) throw new EngineFailure('input_error', `Prometheus at ${base.origin} answered ${response.status} ${response.statusText}: check --user/--password or --bearer`);
      let body: { status?: string; errorType?: string; error?: string; data?: { resultType?: string; result?: unknown[] } };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new EngineFailure('input_error', `Prometheus at ${base.origin} answered ${response.status} with something that is not its JSON API (is this the Prometheus URL?): ${text.slice(0, 120)}`);
      }
      if (body.status !== 'success') throw new EngineFailure('input_error', `Prometheus refused the query (${body.errorType ?? response.status}): ${body.error ?? text.slice(0, 200)}`);
      series += body.data?.result?.length ?? 0;
      const line = `${JSON.stringify(body)}\n`;
      bytes += Buffer.byteLength(line);
      fs.writeSync(out, line);
    }
  } finally {
    fs.closeSync(out);
  }
  return { requests: parts.length, series, bytes };
}
