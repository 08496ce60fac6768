import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { applyAlertPaging, DEFAULT_OPTIONS, generateTelemetry, generateWorld, type DemoOptions } from './generator.js';

/**
 * Writes the demo inputs. `npm run demo:generate` rewrites sample-data/demo (committed);
 * `--out DIR --days N --copies K --plain` makes bigger sets for benchmarks.
 */

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function csvLine(values: Array<string | number | null>): string {
  return values.map((v) => (v === null ? '' : typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v))).join(',') + '\n';
}

export async function writeDemo(outDir: string, options: DemoOptions, plain = false): Promise<{ telemetryRows: number; changes: number; incidents: number; alerts: number }> {
  fs.mkdirSync(outDir, { recursive: true });
  const world = generateWorld(options);
  fs.writeFileSync(path.join(outDir, 'services.csv'), 'name,tier,team,depends_on\n' +
    world.services.map((s) => csvLine([s.name, s.tier, s.team, s.dependsOn.join(';')])).join(''));

  const telemetryPath = path.join(outDir, plain ? 'telemetry.csv' : 'telemetry.csv.gz');
  const file = fs.createWriteStream(telemetryPath);
  const sink = plain ? file : zlib.createGzip({ level: 9 });
  if (!plain) sink.pipe(file);
  let buffer = 'timestamp,service,metric,value\n';
  let rows = 0;
  const pending: string[] = [];
  const alerts = generateTelemetry(world, options, (ts, service, metric, value) => {
    buffer += `${iso(ts)},${service},${metric},${value}\n`;
    rows++;
    if (buffer.length > 1 << 20) {
      pending.push(buffer);
      buffer = '';
    }
  });
  pending.push(buffer);
  for (const chunk of pending) {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => {
    file.on('finish', resolve).on('error', reject);
    sink.end();
  });
  applyAlertPaging(world, alerts, options);

  fs.writeFileSync(path.join(outDir, 'changes.csv'),
    'id,service,timestamp,kind,author,version,lines_added,lines_deleted,files_changed,tests_changed,config_only,dependency_bump,off_hours,rolled_back\n' +
    world.changes.map((c) => csvLine([c.id, c.service, iso(c.ts), c.kind, c.author, c.version, c.lines_added, c.lines_deleted, c.files_changed,
      c.tests_changed, c.config_only, c.dependency_bump, c.off_hours, c.rolled_back ? 'true' : 'false'])).join(''));
  fs.writeFileSync(path.join(outDir, 'incidents.csv'),
    'id,service,severity,started_at,detected_at,mitigated_at,resolved_at,cause_change_id,title\n' +
    world.incidents.map((i) => csvLine([i.id, i.service, `SEV${i.severity}`, iso(i.started), iso(i.detected), iso(i.mitigated), iso(i.resolved), i.causeChangeId, i.title])).join(''));
  fs.writeFileSync(path.join(outDir, 'alerts.csv'),
    'id,service,fired_at,resolved_at,name,metric,severity\n' +
    alerts.map((a) => csvLine([a.id, a.service, iso(a.ts), iso(a.resolved), a.name, a.metric, a.severity])).join(''));
  // The hidden truth, for tests that check a model learns something real; never imported.
  fs.writeFileSync(path.join(outDir, 'truth.json'), JSON.stringify({
    options,
    changeRisk: Object.fromEntries(world.changes.map((c) => [c.id, Math.round(c.trueRisk * 1e6) / 1e6])),
    incidentCause: Object.fromEntries(world.incidents.map((i) => [i.id, i.trueCause === 'change' ? world.changes.find((c) => c.causedIncident === i.id)?.id ?? null : i.trueCause])),
  }));
  return { telemetryRows: rows, changes: world.changes.length, incidents: world.incidents.length, alerts: alerts.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(path.dirname(fileURLToPath(import.meta.url)), 'demo') },
      days: { type: 'string' },
      copies: { type: 'string' },
      seed: { type: 'string' },
      plain: { type: 'boolean', default: false },
    },
  });
  const options: DemoOptions = {
    ...DEFAULT_OPTIONS,
    ...(values.days ? { days: Number(values.days) } : {}),
    ...(values.copies ? { serviceCopies: Number(values.copies) } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
  };
  const summary = await writeDemo(values.out!, options, values.plain);
  console.log(JSON.stringify({ out: values.out, ...summary }));
}
