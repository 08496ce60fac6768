import type { Readable } from 'node:stream';
import { csvReader } from './csv.js';
import type { CanonicalReader, CanonicalRow } from './json-docs.js';
import { isNoValue } from '../../../shared/domain/normalize.js';

/** Points handed on at a time (a multiple of the writer's rows per INSERT, like the other readers' batches). */
const YIELD_POINTS = 4096;

const TIME_COLUMNS = ['time', 'timestamp', 'ts', 'date', 'datetime'];

/**
 * A Datadog-style column, `avg:trace.http.request.duration{service:cart,env:prod}` (a widget's CSV
 * export): the query with its tags. The `service` tag names the service; the others are labels.
 */
const TAGGED = /^([^{}]+)\{([^{}=]*)\}$/;

interface ColumnSeries { service: string | undefined; metric: string; labels?: Record<string, string> }

function seriesOf(column: string, defaultService: string | undefined): ColumnSeries {
  const name = column.trim();
  const tagged = TAGGED.exec(name);
  if (tagged) {
    const labels: Record<string, string> = {};
    for (const tag of tagged[2]!.split(',').map((t) => t.trim()).filter((t) => t !== '' && t !== '*')) {
      const at = tag.indexOf(':');
      if (at > 0) labels[tag.slice(0, at).trim()] = tag.slice(at + 1).trim();
      else labels[tag] = '';
    }
    const { service, ...rest } = labels;
    return { service: service || defaultService, metric: tagged[1]!.trim(), ...(Object.keys(rest).length > 0 ? { labels: rest } : {}) };
  }
  // Only a name with no space before its "/" is a service: Grafana legends such as "GET /api/orders"
  // or "checkout req/s" are metric names (of --service), not a service "GET" and a metric "api/orders".
  const m = /^([^/\s]+)\/(.+)$/.exec(name.trim());
  return m ? { service: m[1]!, metric: m[2]!.trim() } : { service: defaultService, metric: name };
}

/**
 * Wide telemetry: a time column and one column per metric (a Grafana panel's CSV export, a
 * spreadsheet, a Datadog widget's). Each cell becomes one point. A column named "service/metric"
 * carries its service, a Datadog column its `service:` tag (its other tags become labels); other
 * columns (and legends like "GET /api/orders", with a space before the "/") belong to --service. Empty cells are gaps, not errors. A colon is part of a name, not a
 * separator: Prometheus recording rules are named `job:http_requests:rate5m`.
 */
export function wideCsvReader(input: Readable, options: { defaultService?: string | undefined; timeColumn?: string | undefined; delimiter?: string | undefined; newline?: '\n' | '\r' | undefined }): CanonicalReader & { header(): Promise<string[] | null> } {
  const csv = csvReader(input, options.delimiter, options.newline);
  // The time column by its usual names, or the one the mapping names (`--map Zeit=timestamp`: a
  // German export calls it Zeit).
  const isTime = (c: string): boolean => (options.timeColumn !== undefined ? c.trim() === options.timeColumn.trim() : TIME_COLUMNS.includes(c.trim().toLowerCase()));
  // Checked with the header, so a file that cannot be read this way is refused once, not per row.
  const columns = async (): Promise<string[] | null> => {
    const names = await csv.columns();
    if (!names) return names;
    if (!names.some(isTime)) {
      throw new Error(options.timeColumn !== undefined
        ? `the mapping names "${options.timeColumn}" as the time column, but the header has ${names.slice(0, 8).map((c) => JSON.stringify(c)).join(', ')}${names.length > 8 ? ', …' : ''}`
        : `a wide CSV needs a time column (${TIME_COLUMNS.join(', ')}, or choose one: the time column in the import form, --map COLUMN=timestamp on the command line); the header has ${names.slice(0, 8).map((c) => JSON.stringify(c)).join(', ')}${names.length > 8 ? ', …' : ''}`);
    }
    // Grafana's default legend for a query with no legend format is the label set: `{instance="…", job="node"}`.
    const labelSet = names.find((c) => /^[\w:]*\{.*=.*\}$/.test(c.trim()));
    if (labelSet) throw new Error(`column ${JSON.stringify(labelSet)} is a Prometheus label set, not a metric name; give the panel's queries a legend (e.g. {{instance}}) before exporting, or export the query as Prometheus JSON, which keeps the labels`);
    // A column with no service is a header problem, said once rather than for every cell under it.
    const timeAt = names.findIndex(isTime);
    const orphan = names.find((c, i) => i !== timeAt && c.trim() !== '' && !seriesOf(c, options.defaultService).service);
    if (orphan !== undefined) throw new Error(`column ${JSON.stringify(orphan)} names no service: use "service/metric" headers (or a Datadog "service:" tag), or give the service (the Service box in the import form, --service on the command line)`);
    return names;
  };
  return {
    canonical: true,
    columns,
    // The header as it is, checked or not: the import form offers its columns for the time column.
    header: () => csv.columns(),
    async *batches() {
      const names = (await columns()) ?? [];
      const timeIndex = names.findIndex(isTime);
      const series = names.map((c, i) => (i === timeIndex ? null : seriesOf(c, options.defaultService)));
      for await (const rows of csv.batches()) {
        let out: CanonicalRow[] = [];
        for (const row of rows) {
          // A 1 MB chunk of a wide file is ~170k points: handed on a few thousand at a time, they
          // die young instead of all living until the chunk is done (peak RSS over 300 MB at 1M points).
          if (out.length >= YIELD_POINTS) {
            yield out;
            out = [];
          }
          if (row.error !== undefined) {
            out.push(row);
            continue;
          }
          // Cells by position when the CSV reader gives them (it always does): no lookup by name per cell.
          const cells = row.cells;
          const ts = cells ? cells[timeIndex] : row.values[names[timeIndex]!];
          series.forEach((s, i) => {
            if (!s) return;
            const cell = cells ? cells[i] : row.values[names[i]!];
            // An empty cell is a gap in that series (Grafana writes nulls so), counted as one like
            // Prometheus' NaN; so is a written null, NaN or "-".
            if (cell === '' || cell === undefined || isNoValue(cell)) {
              if (s.metric !== '' && s.service) out.push({ line: row.line, values: { timestamp: ts, service: s.service, metric: s.metric }, gap: cell ? String(cell) : 'empty cell' });
              return;
            }
            // A spreadsheet's trailing empty columns have no name and no cells; a value there has no series.
            if (s.metric === '') return void out.push({ line: row.line, error: `column ${i + 1} has a value (${JSON.stringify(String(cell).slice(0, 20))}) but no name in the header` });
            // One labels object per column, shared by its points (canonical rows never change their `extra`).
            out.push({ line: row.line, values: { timestamp: ts, service: s.service, metric: s.metric, value: cell }, ...(s.labels ? { extra: s.labels } : {}) });
          });
        }
        if (out.length > 0) yield out;
      }
    },
  };
}
