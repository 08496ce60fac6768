import type { Command } from 'commander';
import { decimal, runId, wholeNumber, jobEnd } from './cli-args.js';
import { matchingRules, NAB_RULES, unresolvedSentence } from '../shared/detection/rules.js';
import { ATTRIBUTION_FEATURES, type AttributionResult, type DetectionReport, type DetectionRunInfo, type DetectorSpecInput } from '../shared/contract/detection.js';
import { findModel, readJson, time, type CliKit } from './cli-models.js';

/** `shadowbench detectors add`, `detect` and `attribute`: the detection and attribution commands. */

const num = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '—' : v.toFixed(digits));
// "—" where a metric has no value (nothing to count it over), as the app shows it; JSON keeps null.
const iv = (m: { value: number | null; lo: number | null; hi: number | null }, digits = 2): string => (m.value === null ? '—' : `${num(m.value, digits)} [${num(m.lo, digits)}, ${num(m.hi, digits)}]`);

export function printDetectionReport(report: DetectionReport, out: (t: string) => void): void {
  const r = report.run;
  out(`detection run ${r.id}: ${r.points.toLocaleString('en-US')} points, ${report.scorecards[0]?.incidents ?? 0} incidents over ${num(report.scorecards[0]?.days ?? 0, 1)} days\n`);
  out(`${matchingRules(r.config)}\n`);
  const open = unresolvedSentence(report.unresolvedIncidents);
  if (open) out(`${open}\n`);
  for (const c of report.scorecards) {
    const m = c.metrics;
    out(`${c.name}${c.threshold !== null ? ` (threshold ${c.threshold})` : ''}: ${c.alerts} alerts${c.importedRows !== null && c.importedRows !== c.alerts ? ` (${c.importedRows} imported rows, merged)` : ''}\n`);
    out(`  incident_recall       ${iv(m.incident_recall, 3)}\n`);
    // Pooled recall can rise while the worst incidents are missed: said by severity too.
    out(`    by severity         ${c.recallBySeverity.map((x) => `SEV${x.severity} ${num(x.recall, 2)} (${x.incidents})`).join(', ') || '—'}\n`);
    out(`  alert_precision       ${iv(m.alert_precision, 3)}\n  false_alerts_per_day  ${iv(m.false_alerts_per_day)}\n`);
    out(`  lead_vs_human_min     median ${iv(m.lead_vs_human_min.median, 1)}, p10 ${num(m.lead_vs_human_min.p10, 1)}, p90 ${num(m.lead_vs_human_min.p90, 1)}; earlier ${m.lead_vs_human_min.earlier}, same minute ${m.lead_vs_human_min.same}, later ${m.lead_vs_human_min.later}, missed ${m.lead_vs_human_min.missed}\n`);
    if (c.warmUp && c.warmUp.withoutTelemetry > 0) out(`  out of reach          ${c.warmUp.withoutTelemetry === 1 ? '1 incident on a service' : `${c.warmUp.withoutTelemetry} incidents on services`} with none of the metrics it reads: counted as missed\n`);
    if (c.warmUp && c.warmUp.incidents > 0) out(`  warm-up               ${c.warmUp.incidents} incidents began in its first ${num(c.warmUp.ms / 3_600_000, 1)} h of a service's telemetry, before it could score\n`);
    out(`  mttd_min              humans with model ${iv(m.mttd_min.humans_with_model, 1)}, humans ${iv(m.mttd_min.humans, 1)}; model ${iv(m.mttd_min.model, 1)} on the ${c.incidents - m.lead_vs_human_min.missed} it caught\n`);
    if (c.nab) out(`  NAB                   ${Object.entries(c.nab).map(([p, v]) => `${p} ${num(v.score, 1)} (best ${num(v.optimised.score, 1)} at ${num(v.optimised.threshold, 2)})`).join(', ')}\n`);
  }
  if (report.scorecards.some((c) => c.nab)) out(`${NAB_RULES}\n`);
  for (const c of report.comparisons) out(`${c.summary}\n`);
}

/** --services: named once each; an empty list is a mistake (a variable that expanded to nothing), not "all". */
function serviceList(value: string, kit: CliKit): string[] {
  const list = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  if (list.length === 0) kit.fail(2, '--services is empty: name at least one service, or leave the option out for all of them');
  return list;
}

function spec(opts: { kind: string; metric?: string; metrics?: string; window?: string; alpha?: string; value?: string; steps?: string; direction?: string }, kit: CliKit): DetectorSpecInput {
  const metrics = (opts.metrics ?? opts.metric ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (metrics.length === 0) kit.fail(2, '--metrics is required (comma-separated metric names)');
  const n = (v: string | undefined, flag: string): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x)) kit.fail(2, `${flag} "${v}" is not a number`);
    return x;
  };
  const dir = opts.direction as 'up' | 'down' | 'both' | undefined;
  switch (opts.kind) {
    case 'static': {
      if (metrics.length > 1) kit.fail(2, `a static detector watches one metric; --metrics gave ${metrics.length} (${metrics.join(', ')}): add one detector per metric`);
      const value = n(opts.value, '--value');
      if (value === undefined) kit.fail(2, 'a static detector needs --value');
      return { kind: 'static', metric: metrics[0]!, value, ...(opts.direction ? { direction: opts.direction === 'down' || opts.direction === 'below' ? 'below' : 'above' } : {}), ...(opts.steps ? { steps: n(opts.steps, '--steps')! } : {}) };
    }
    case 'zscore': return { kind: 'zscore', metrics, ...(opts.window ? { window: n(opts.window, '--window')! } : {}), ...(dir ? { direction: dir } : {}) };
    case 'ewma': return { kind: 'ewma', metrics, ...(opts.alpha ? { alpha: n(opts.alpha, '--alpha')! } : {}), ...(dir ? { direction: dir } : {}) };
    case 'week-over-week': return { kind: 'week-over-week', metrics, ...(opts.window ? { window: n(opts.window, '--window')! } : {}), ...(dir ? { direction: dir } : {}) };
    default: return kit.fail(2, `--kind ${opts.kind}: use static, zscore, ewma or week-over-week`);
  }
}

export function registerDetectionCommands(program: Command, kit: CliKit): void {
  const detectors = program.command('detectors').description('built-in detectors for the detection task');
  detectors.command('add')
    .description('register a built-in detector: static threshold, rolling z-score, EWMA or week-over-week deviation')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--name <name>', 'detector name')
    .requiredOption('--kind <kind>', 'static | zscore | ewma | week-over-week')
    .requiredOption('--metrics <list>', 'metric name(s), comma-separated (one for static)')
    .option('--window <steps>', 'baseline length in steps (zscore, week-over-week)')
    .option('--alpha <a>', 'smoothing factor (ewma)')
    .option('--value <x>', 'the line (static)')
    .option('--steps <n>', 'consecutive steps beyond the line (static)')
    .option('--direction <d>', 'up | down | both (static: above | below)')
    .option('--threshold <t>', 'alert when the score reaches this', decimal(1e-9, 1e6))
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; name: string; kind: string; metrics: string; window?: string; alpha?: string; value?: string; steps?: string; direction?: string; threshold?: number; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const m = await engine.call('detectors.add', { name: opts.name, spec: spec(opts, kit), ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}) });
      if (opts.json) return kit.out(JSON.stringify(m) + '\n');
      kit.out(`added ${m.name} v${m.version} (id ${m.id}): ${m.description}; threshold ${m.threshold}\n`);
    }));

  detectors.command('add-onnx')
    .description('register an ONNX window detector with its manifest (JSON: name, input, output, window {metrics, length, stepSeconds, normalisation}, threshold)')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--onnx <file>', 'the .onnx file')
    .requiredOption('--manifest <file>', 'manifest JSON')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; onnx: string; manifest: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const m = await engine.call('detectors.addOnnxPath', { path: opts.onnx, manifest: readJson(opts.manifest, kit) as never });
      if (opts.json) return kit.out(JSON.stringify(m) + '\n');
      kit.out(`added ${m.name} v${m.version} (id ${m.id}): ${m.description}; threshold ${m.threshold}\n`);
    }));

  program.command('detect')
    .description('a detection shadow run: every detector over the telemetry, scored against incidents and the imported alerts')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--detectors <list>', 'comma-separated detector names or ids (default: every active detector)')
    .option('--from <time>', 'start of the range (ISO or epoch ms)')
    .option('--until <time>', 'end of the range, exclusive')
    .option('--services <list>', 'comma-separated services')
    .option('--cooldown <minutes>', 'merge alerts on a service closer than this', decimal(0, 7 * 24 * 60), 30)
    .option('--resamples <n>', 'bootstrap resamples for the intervals', wholeNumber(0, 10000), 1000)
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; detectors?: string; from?: string; until?: string; services?: string; cooldown: number; resamples: number; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const ids: number[] = [];
      if (opts.detectors) {
        const models = await engine.call('models.list', {});
        for (const name of opts.detectors.split(',').map((s) => s.trim()).filter(Boolean)) {
          const m = await findModel(engine, name, kit, models.filter((x) => x.task === 'detection'));
          ids.push(m.id);
        }
      }
      else ids.push(...(await engine.call('models.list', {})).filter((m) => m.task === 'detection' && m.status === 'active').map((m) => m.id));
      if (ids.length === 0) kit.fail(2, 'No detectors: add one with `shadowbench detectors add`');
      const { jobId } = await engine.call('detection.start', {
        models: ids, cooldownMinutes: opts.cooldown,
        ...(opts.from ? { from: time(opts.from, '--from', kit) } : {}), ...(opts.until ? { until: time(opts.until, '--until', kit) } : {}),
        ...(opts.services !== undefined ? { services: serviceList(opts.services, kit) } : {}),
      });
      const job = await kit.runJob(engine, jobId);
      if (job.state !== 'done') kit.fail(2, `detection run ${jobEnd(job)}`);
      const run = job.result as DetectionRunInfo;
      const report = await engine.call('detection.report', { runId: run.id, resamples: opts.resamples });
      if (opts.json) return kit.out(JSON.stringify(report) + '\n');
      printDetectionReport(report, kit.out);
    }));

  program.command('rankers').description('ONNX ranking models for attribution')
    .command('add-onnx')
    .description(`register an ONNX model that scores candidate changes (features: ${Object.keys(ATTRIBUTION_FEATURES).join(', ')})`)
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--onnx <file>', 'the .onnx file')
    .requiredOption('--manifest <file>', 'manifest JSON: name, input, features, output[, column]')
    .action(async (opts: { workspace: string; onnx: string; manifest: string }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const m = await engine.call('rankers.addOnnxPath', { path: opts.onnx, manifest: readJson(opts.manifest, kit) as never });
      kit.out(`added ${m.name} v${m.version} (id ${m.id}): ${m.description}\n`);
    }));

  program.command('attribute')
    .description('rank the changes before each incident with a known cause; top1, top3, MRR and coverage per ranker')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--lookback-hours <h>', 'candidate changes this long before the incident started', decimal(0.01, 24 * 30), 24)
    .option('--risk-run <id>', 'also rank by the change-risk models of this run', runId)
    .option('--risk-models <list>', 'models of --risk-run to rank by (default: all of them)')
    .option('--rankers <list>', 'ONNX ranking models (names or ids) to rank by as well')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; lookbackHours: number; riskRun?: number; riskModels?: string; rankers?: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      let riskRun: { runId: number; modelIds: number[] } | undefined;
      if (opts.riskRun !== undefined) {
        const run = await engine.call('runs.get', { id: opts.riskRun });
        const modelIds = opts.riskModels
          ? await Promise.all(opts.riskModels.split(',').map(async (n) => (await findModel(engine, n.trim(), kit)).id))
          : (run.manifest?.models ?? []).map((m) => m.id);
        riskRun = { runId: run.id, modelIds };
      }
      const rankers = opts.rankers ? await Promise.all(opts.rankers.split(',').map(async (n) => (await findModel(engine, n.trim(), kit)).id)) : undefined;
      const result: AttributionResult = await engine.call('attribution.evaluate', { lookbackHours: opts.lookbackHours, ...(riskRun ? { riskRun } : {}), ...(rankers ? { rankers } : {}) });
      if (opts.json) return kit.out(JSON.stringify(result) + '\n');
      if (result.incidentsWithCause === 0) kit.fail(2, `none of the workspace's ${result.incidentsTotal} incidents has a known cause (a postmortem's cause_change_id), so there is nothing to rank against; import incidents with that column`);
      kit.out(`${result.incidentsWithCause} of ${result.incidentsTotal} incidents have a known cause; candidates: changes in the ${result.lookbackHours} h before each; 95 % intervals over incidents\n`);
      for (const r of result.rankers) kit.out(`  ${r.name.padEnd(24)} n ${String(r.incidents).padStart(4)}  top1 ${iv(r.top1, 3)}  top3 ${iv(r.top3, 3)}  mrr ${iv(r.mrr, 3)}  coverage ${iv(r.coverage, 3)}\n`);
      for (const r of result.rankers) if (r.note) kit.out(`note: ${r.note}\n`);
    }));
}
