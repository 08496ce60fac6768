import type { Command } from 'commander';
import { jobEnd } from './cli-args.js';
import type { DrillReport } from '../shared/contract/drills.js';
import { readJson, type CliKit } from './cli-models.js';

/**
 * `drill`: re-run a run under injected faults and report what changed. Exit 0 when every failure
 * was handled, 1 when any reached the output unhandled (the check a drill exists for), 2 for
 * usage or input errors.
 */

const num = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? '—' : v.toFixed(d));

export function printDrill(r: DrillReport, out: (t: string) => void): void {
  out(`drill "${r.drill}"${r.drillVersion ? ` v${r.drillVersion}` : ''}: run ${r.drillRunId} re-ran run ${r.baseRunId} (result ${r.id})\n`);
  for (const line of r.summary) out(`  ${line}\n`);
  for (const m of r.models) {
    out(`\n${m.model.name} v${m.model.version}: injected ${Object.entries(m.injected).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing'}\n`);
    out(`  answered by model ${m.answeredByModel}, by fallback ${m.answeredByFallback} (${(100 * m.fallbackRate).toFixed(1)} %), no suggestion ${m.noSuggestion}, unhandled ${m.unhandled}\n`);
    out(`  ${'metric'.padEnd(18)} ${'base'.padStart(8)} ${'drill'.padStart(8)}   drill − base [95 %]         verdict\n`);
    for (const d of m.deltas) out(`  ${d.metric.padEnd(18)} ${num(d.champion).padStart(8)} ${num(d.challenger).padStart(8)}   ${`${num(d.difference.value)} [${num(d.difference.lo)}, ${num(d.difference.hi)}]`.padEnd(26)}  ${d.verdict === 'better' ? 'drill better' : d.verdict === 'worse' ? 'drill worse' : d.verdict}\n`);
  }
}

export function registerDrillCommands(program: Command, kit: CliKit): void {
  program.command('drill')
    .description('re-run a change-risk or detection run under injected faults (drift, noise, missing values, stale telemetry, flips, latency, failures, garbage); exit 1 if any failure reached the output unhandled')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--drill <file>', 'drill spec JSON (see docs/drills.md)')
    .option('--name <name>', 'run the latest saved version of this drill instead')
    .option('--save', 'save the spec as a new version of its drill before running it')
    .option('--json', 'print the report as one JSON document')
    .action(async (opts: { workspace: string; drill?: string; name?: string; save?: boolean; json?: boolean }) => {
      if ((opts.drill === undefined) === (opts.name === undefined)) kit.fail(2, 'give --drill FILE or --name NAME (one of them)');
      const spec = opts.drill !== undefined ? readJson(opts.drill, kit) : undefined;
      return kit.withWorkspace(opts.workspace, async (engine) => {
        let name = opts.name;
        if (spec !== undefined && opts.save) name = (await engine.call('drills.save', { spec })).name;
        const { jobId } = await engine.call('drills.start', name !== undefined ? { name } : { spec });
        const job = await kit.runJob(engine, jobId);
        if (job.state !== 'done') kit.fail(2, `the drill ${jobEnd(job)}`);
        const report = job.result as DrillReport;
        if (opts.json) kit.out(JSON.stringify(report) + '\n');
        else printDrill(report, kit.out);
        if (report.models.some((m) => m.unhandled > 0)) kit.fail(1, `${report.models.reduce((a, m) => a + m.unhandled, 0)} failures reached the output unhandled`);
      });
    });
}
