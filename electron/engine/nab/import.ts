import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { EngineFailure } from '../errors.js';
import { loadCorpus } from './corpus.js';

/**
 * NAB corpus files as workspace inputs: each file becomes a service with one metric, `value`, and
 * each labelled window an incident from its start to its end (severity 2; humans' detection time
 * unknown). Written as ordinary CSVs so they go through the same importers as any user file.
 */
export function nabToCsv(corpusDir: string, files: readonly string[] | undefined, outDir: string): { telemetry: string; incidents: string; files: string[] } {
  const corpus = loadCorpus(corpusDir);
  const names = files?.length ? files : [...corpus.windows.keys()];
  const unknown = names.filter((f) => !corpus.windows.has(f));
  if (unknown.length) throw new EngineFailure('input_error', `Not in the corpus labels: ${unknown.join(', ')} (names look like realKnownCause/nyc_taxi.csv)`);
  const service = (file: string): string => file.replace(/\.csv$/, '').replace(/[^A-Za-z0-9._-]+/g, '.');
  const telemetry = path.join(outDir, 'nab-telemetry.csv');
  const incidents = path.join(outDir, 'nab-incidents.csv');
  const t = fs.openSync(telemetry, 'w');
  fs.writeSync(t, 'timestamp,service,metric,value\n');
  const inc: string[] = ['id,service,severity,started_at,resolved_at,title'];
  for (const file of names) {
    const data = path.join(corpus.dir, 'data', file);
    if (!fs.existsSync(data)) throw new EngineFailure('input_error', `${data}: missing corpus data file`);
    const rows = parse(fs.readFileSync(data), { columns: true, skip_empty_lines: true }) as Array<{ timestamp: string; value: string }>;
    const svc = service(file);
    fs.writeSync(t, rows.map((r) => `${r.timestamp},${svc},value,${r.value}`).join('\n') + '\n');
    corpus.windows.get(file)!.forEach(([start, end], k) => {
      inc.push(`NAB-${svc}-${k + 1},${svc},2,${new Date(start).toISOString()},${new Date(end).toISOString()},NAB window ${k + 1} of ${file}`);
    });
  }
  fs.closeSync(t);
  fs.writeFileSync(incidents, inc.join('\n') + '\n');
  return { telemetry, incidents, files: [...names] };
}
