import type { Command } from 'commander';
import { unfinishedReason } from '../shared/domain/run-state.js';
import { resolveRun, runId, wholeNumber, jobEnd, writeOutput } from './cli-args.js';
import fs from 'node:fs';
import type { Comparison, GateResult, GateSpecInput } from '../shared/contract/gates.js';
import type { RunInfo } from '../shared/contract/models.js';
import type { DetectionRunInfo } from '../shared/contract/detection.js';
import { PRESETS } from '../shared/gates/gate.js';
import { MULTIPLE_METRICS_NOTE } from '../shared/metrics/compare.js';
import { findModel, readJson, time, type CliKit } from './cli-models.js';
import type { Engine } from './engine/engine.js';

/**
 * `champion`, `compare`, `gate`, `report` and `score-change`: the commands a pipeline runs.
 * `gate` exits 0 pass, 1 fail, 3 inconclusive (2 for usage or input errors).
 */

const num = (v: number | null, d = 3): string => (v === null ? '—' : v.toFixed(d));

function readGate(arg: string, kit: CliKit): GateSpecInput {
  if (!fs.existsSync(arg)) {
    if (arg === 'advisory' || arg === 'gating') return PRESETS[arg];
    kit.fail(2, `--gate ${arg}: no such file (or use the presets "advisory" and "gating")`);
  }
  return readJson(arg, kit) as GateSpecInput;
}

/**
 * A model of a run, by name or id. A name means the version that ran in it: after a retrain or a
 * re-added ONNX file the newest version is another model, which that run never scored.
 */
async function findRunModel(engine: Engine, runId: number, nameOrId: string, kit: CliKit): Promise<number> {
  const models = (await finishedRun(engine, runId, kit)).manifest?.models ?? [];
  const hit = /^\d+$/.test(nameOrId) ? models.find((m) => m.id === Number(nameOrId)) : [...models].reverse().find((m) => m.name === nameOrId);
  if (hit) return hit.id;
  const m = await findModel(engine, nameOrId, kit);
  if (!models.some((x) => x.id === m.id)) kit.fail(2, `${nameOrId} (${m.name} v${m.version}) is not a model of run ${runId}; it ran ${models.map((x) => `${x.name} v${x.version}`).join(', ') || 'none'}`);
  return m.id;
}

/** A run that gates and comparisons can judge: a failed or cancelled one is named as such, not as one with no models. */
async function finishedRun(engine: Engine, runId: number, kit: CliKit): Promise<RunInfo> {
  const run = await engine.call('runs.get', { id: runId });
  const why = unfinishedReason(run, 'gates and comparisons need a finished run (runs list shows them)');
  if (why) kit.fail(2, why);
  return run;
}

/** A finished detection run by id, or "latest" (0): the newest finished one that is not a drill. */
async function finishedDetectionRun(engine: Engine, id: number, kit: CliKit): Promise<DetectionRunInfo> {
  const runs = await engine.call('detection.runs', {});
  const run = id === 0 ? runs.filter((r) => r.state === 'done' && !r.config.drill).sort((a, b) => b.id - a.id)[0] : runs.find((r) => r.id === id);
  if (!run) return kit.fail(2, id === 0 ? '--detection-run latest: no finished detection run yet (shadowbench detect makes one)' : `No detection run ${id} (runs list shows them)`);
  const why = unfinishedReason(run, 'gates and reports need a finished run (runs list shows them)', 'detection');
  if (why) kit.fail(2, why);
  return run;
}

/**
 * A detector of a detection run by id, name, or name@version ("ewma@1", or "ewma v1" as the app
 * writes it). A bare name two versions of which ran is refused: `detectors add` with a taken name
 * makes a new version, maybe of another kind, and judging the wrong one must not be silent.
 */
function runDetector(run: DetectionRunInfo, given: string, kit: CliKit): number {
  const named = /^(.+?)(?:@| v)(\d+)$/.exec(given);
  const byName = run.models.filter((m) => m.name === given);
  // An id, name@version or "name vN" first; a detector whose own name looks like one is still found by it.
  const parsed = /^\d+$/.test(given) ? run.models.filter((m) => m.id === Number(given))
    : named ? run.models.filter((m) => m.name === named[1] && m.version === Number(named[2])) : byName;
  const hits = parsed.length > 0 ? parsed : byName;
  const ran = run.models.map((m) => `${m.name} v${m.version}`).join(', ');
  if (hits.length === 0) kit.fail(2, `${given} is not a detector of detection run ${run.id}; it ran ${ran}`);
  if (hits.length > 1) kit.fail(2, `detection run ${run.id} ran ${hits.length} versions of ${given} (${hits.map((m) => `${m.name} v${m.version}, id ${m.id}`).join('; ')}); say which: --model ${given}@${hits[0]!.version}`);
  return hits[0]!.id;
}

/** --champion: a model of the run, "none", or (not given) the workspace's champion. */
async function championArg(engine: Engine, runId: number, value: string | undefined, kit: CliKit): Promise<number | null | undefined> {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  return findRunModel(engine, runId, value, kit);
}

export function printComparison(c: Comparison, out: (t: string) => void): void {
  out(`${c.summary}\n`);
  out(`  ${'metric'.padEnd(18)} ${'champion'.padStart(9)} ${'challenger'.padStart(10)}   difference [95 %]          verdict\n`);
  for (const m of c.metrics) out(`  ${m.metric.padEnd(18)} ${num(m.champion).padStart(9)} ${num(m.challenger).padStart(10)}   ${`${num(m.difference.value)} [${num(m.difference.lo)}, ${num(m.difference.hi)}]`.padEnd(26)} ${m.verdict}\n`);
  out(`  McNemar exact: champion alone right ${c.mcnemar.championOnlyRight}, challenger alone right ${c.mcnemar.challengerOnlyRight}, p = ${c.mcnemar.p.toPrecision(3)}\n`);
  out(`  note: ${MULTIPLE_METRICS_NOTE}\n`);
}

export function printGate(g: GateResult, out: (t: string) => void): void {
  const against = g.task === 'detection' ? ' (against the imported alerts)' : g.champion ? ` (champion ${g.champion.name} v${g.champion.version})` : '';
  out(`${g.task === 'detection' ? `detector ${g.model.name} v${g.model.version} in detection run ${g.runId}` : `${g.model.name} v${g.model.version}`} — gate "${g.gate}"${g.gateVersion ? ` v${g.gateVersion}` : ''}${against}: ${g.verdict.toUpperCase()}\n`);
  for (const c of g.criteria) out(`  ${c.verdict.padEnd(12)} ${c.criterion}: ${c.reason}\n`);
}

export function registerGateCommands(program: Command, kit: CliKit): void {
  program.command('champion')
    .description('show or set the change-risk champion (the model challengers are compared with)')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--model <name|id>', 'make this model the champion; "none" for no champion')
    .option('--revert', 'go back to the previous champion (one step, as DESIGN has it: reverting again returns to this one; name an older one with --model)')
    .option('--reason <text>', 'why (a gate verdict, a review): kept in the model\'s history and the audit log')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; model?: string; revert?: boolean; reason?: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      if (opts.revert && opts.model !== undefined) kit.fail(2, '--model and --revert: give one (revert goes back to the previous champion)');
      if (opts.revert) await engine.call('roles.revert', {});
      else if (opts.model !== undefined) await engine.call('roles.setChampion', { modelId: opts.model === 'none' ? null : (await findModel(engine, opts.model, kit)).id, ...(opts.reason ? { reason: opts.reason } : {}) });
      const { changeRisk } = await engine.call('roles.get', {});
      const m = changeRisk === null ? null : await engine.call('models.get', { id: changeRisk });
      if (opts.json) return kit.out(JSON.stringify({ champion: m ? { id: m.id, name: m.name, version: m.version } : null }) + '\n');
      kit.out(m ? `champion: ${m.name} v${m.version} (id ${m.id})\n` : 'champion: none\n');
    }));

  program.command('compare')
    .description('champion vs challenger on the changes of one run: paired bootstrap of every metric, McNemar, verdicts')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--run <id>', 'change-risk run (an id, or "latest")', runId)
    .requiredOption('--challenger <name|id>', 'the model to judge')
    .option('--champion <name|id>', "the model to judge it against (default: the workspace's champion)")
    .option('--resamples <n>', 'bootstrap resamples', wholeNumber(0, 10000), 1000)
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; run: number; challenger: string; champion?: string; resamples: number; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      if (opts.champion === 'none') kit.fail(2, '--champion none: a comparison needs a champion (give a model of the run)');
      opts.run = await resolveRun(engine, opts.run, kit);
      const championId = (await championArg(engine, opts.run, opts.champion, kit)) ?? (await engine.call('roles.get', {})).changeRisk;
      if (championId === null || championId === undefined) kit.fail(2, 'No champion: pass --champion or set one with `shadowbench champion --model NAME`');
      const c = await engine.call('compare.run', { runId: opts.run, championId, challengerId: await findRunModel(engine, opts.run, opts.challenger, kit), resamples: opts.resamples });
      if (opts.json) return kit.out(JSON.stringify(c) + '\n');
      printComparison(c, kit.out);
    }));

  program.command('gate-preset')
    .description('print a preset gate ("advisory" or "gating") as JSON: the start of your own gate file')
    .argument('<name>', 'advisory | gating')
    .action((name: string) => {
      if (name !== 'advisory' && name !== 'gating') kit.fail(2, `no preset "${name}"; the presets are advisory and gating`);
      kit.out(JSON.stringify(PRESETS[name as 'advisory' | 'gating'], null, 2) + '\n');
    });

  program.command('gate')
    .description('judge a model of a run (or a detector of a detection run) against a gate; exit 0 pass, 1 fail, 3 inconclusive')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--run <id>', 'change-risk run (an id, or "latest")', runId)
    .option('--detection-run <id>', 'detection run instead (an id, or "latest"): relative criteria compare with the imported alerts ("vs": "imported_alerts")', runId)
    .requiredOption('--gate <file|preset>', 'gate JSON file, or the preset "advisory" or "gating" (change-risk)')
    .option('--model <name|id>', 'the model or detector to judge (default: the one model of the run that is not the champion; the one detector of a detection run)')
    .option('--champion <name|id>', 'champion for relative criteria ("none" for none; default: the workspace\'s)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; run?: number; detectionRun?: number; gate: string; model?: string; champion?: string; json?: boolean }) => {
      if ((opts.run === undefined) === (opts.detectionRun === undefined)) kit.fail(2, opts.run === undefined ? 'give --run (a change-risk run) or --detection-run (a detection run)' : '--run and --detection-run: give one (detection runs are numbered apart from change-risk runs)');
      if (opts.detectionRun !== undefined && opts.champion !== undefined) kit.fail(2, '--champion is for change-risk runs: a detector is compared with the imported alerts of its run');
      const gate = readGate(opts.gate, kit);
      const result = await kit.withWorkspace(opts.workspace, async (engine) => {
        if (opts.detectionRun !== undefined) {
          const run = await finishedDetectionRun(engine, opts.detectionRun, kit);
          let modelId: number;
          if (opts.model) modelId = runDetector(run, opts.model, kit);
          else {
            if (run.models.length !== 1) kit.fail(2, `Detection run ${run.id} ran ${run.models.length} detectors (${run.models.map((m) => m.name).join(', ')}); pick one with --model`);
            modelId = run.models[0]!.id;
          }
          return engine.call('gates.checkDetection', { runId: run.id, modelId, spec: gate });
        }
        const run = await finishedRun(engine, await resolveRun(engine, opts.run!, kit), kit);
        const championId = await championArg(engine, run.id, opts.champion, kit);
        const champion = championId === undefined ? (await engine.call('roles.get', {})).changeRisk : championId;
        let modelId: number;
        if (opts.model) modelId = await findRunModel(engine, run.id, opts.model, kit);
        else {
          const candidates = (run.manifest?.models ?? []).filter((m) => m.id !== champion);
          if (candidates.length !== 1) kit.fail(2, `Run ${run.id} has ${candidates.length} models besides the champion (${candidates.map((m) => m.name).join(', ')}); pick one with --model`);
          modelId = candidates[0]!.id;
        }
        return engine.call('gates.check', { runId: run.id, modelId, spec: gate, ...(championId !== undefined ? { championId } : {}) });
      });
      if (opts.json) kit.out(JSON.stringify(result) + '\n');
      else printGate(result, kit.out);
      if (result.verdict === 'fail') kit.fail(1, '');
      if (result.verdict === 'inconclusive') kit.fail(3, '');
    });

  program.command('report')
    .description('write a run report: self-contained HTML (charts as SVG, no network) or a Markdown summary for a pull request')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--run <id>', 'change-risk run (an id, or "latest")', runId)
    .option('--detection-run <id>', 'a detection run instead (an id, or "latest"): every detector beside the imported alerts', runId)
    .requiredOption('--out <file>', 'FILE.html or FILE.md')
    .option('--gate <file|preset>', 'gate to judge the challengers (or, for a detection run, each detector) by (default: the advisory preset; none for a detection run)')
    .option('--champion <name|id>', 'champion ("none" for none; default: the workspace\'s)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; run?: number; detectionRun?: number; out: string; gate?: string; champion?: string; json?: boolean }) => {
      if ((opts.run === undefined) === (opts.detectionRun === undefined)) kit.fail(2, opts.run === undefined ? 'give --run (a change-risk run) or --detection-run (a detection run)' : '--run and --detection-run: give one (detection runs are numbered apart from change-risk runs)');
      if (opts.detectionRun !== undefined && opts.champion !== undefined) kit.fail(2, '--champion is for change-risk runs: a detection report compares every detector with the imported alerts');
      const format = opts.out.toLowerCase().endsWith('.html') ? 'html' : opts.out.toLowerCase().endsWith('.md') ? 'md' : kit.fail(2, '--out must end in .html or .md');
      const gate = opts.gate ? readGate(opts.gate, kit) : undefined;
      await kit.withWorkspace(opts.workspace, async (engine) => {
        let started: { jobId: string };
        let which: string;
        if (opts.detectionRun !== undefined) {
          const run = await finishedDetectionRun(engine, opts.detectionRun, kit);
          which = `detection run ${run.id}`;
          started = await engine.call('reports.startDetection', { runId: run.id, format, ...(gate ? { gate } : {}) });
        } else {
          const id = await resolveRun(engine, opts.run!, kit);
          which = `run ${id}`;
          const championId = await championArg(engine, id, opts.champion, kit);
          started = await engine.call('reports.start', { runId: id, format, ...(gate ? { gate } : {}), ...(championId !== undefined ? { championId } : {}) });
        }
        const job = await kit.runJob(engine, started.jobId);
        if (job.state !== 'done') kit.fail(2, `the report ${jobEnd(job)}`);
        const r = job.result as { fileName: string; content: string };
        writeOutput(opts.out, r.content, kit);
        if (opts.json) return kit.out(JSON.stringify({ ...(opts.detectionRun !== undefined ? { detectionRun: Number(which.split(' ').pop()) } : { run: Number(which.split(' ').pop()) }), format, out: opts.out, bytes: Buffer.byteLength(r.content) }) + '\n');
        kit.out(`wrote ${opts.out} (${(r.content.length / 1024).toFixed(0)} KB)\n`);
      });
    });

  program.command('score-change')
    .description('score one pending change as of now: risk, top signals and suggested mitigations (what a CI job posts on a deploy)')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--model <name|id>', 'change-risk model')
    .requiredOption('--change <file>', 'JSON: {"service": …, "attributes": {"lines_added": …, …}[, "id", "author", "timestamp" (ISO 8601 or epoch ms; default now)]}')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; model: string; change: string; json?: boolean }) => {
      const change = readJson(opts.change, kit) as { timestamp?: unknown } | null;
      // The file may say when in ISO 8601, as every other time on the command line.
      if (change && typeof change === 'object' && typeof change.timestamp === 'string') change.timestamp = time(change.timestamp, `${opts.change}: timestamp`, kit);
      await kit.withWorkspace(opts.workspace, async (engine) => {
        const r = await engine.call('changes.score', { modelId: (await findModel(engine, opts.model, kit)).id, change: change as never });
        if (opts.json) return kit.out(JSON.stringify(r) + '\n');
        kit.out(`${r.change}: risk ${r.score.toFixed(3)} (${r.model.name} v${r.model.version}, threshold ${r.threshold}) — ${r.gate ? 'would be HELD for review' : 'would pass'}\n`);
        kit.out('  top signals:\n');
        for (const c of r.contributions.slice(0, 5)) kit.out(`    ${c.feature} = ${c.value} (${c.contribution >= 0 ? '+' : ''}${c.contribution.toFixed(3)})\n`);
        if (r.mitigations.length) kit.out(`  suggested:\n${r.mitigations.map((m) => `    - ${m.text}\n`).join('')}`);
        if (r.unknownAttributes.length) kit.warn(`warning: ${r.unknownAttributes.join(', ')} ${r.unknownAttributes.length === 1 ? 'is' : 'are'} not read by ${r.model.name} and no imported change has ${r.unknownAttributes.length === 1 ? 'it' : 'them'}: misspelt?\n`);
      });
    });
}

/** `shadowbench dataset export` and `models retrain`: the retraining loop from the command line. */
export function registerRetrainCommands(program: Command, kit: CliKit): void {
  program.command('dataset')
    .description('labelled datasets for training elsewhere')
    .command('export')
    .description('features as of each change, its outcome and any human feedback label, as CSV')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--out <file.csv>', 'where to write it')
    .option('--features <list>', 'comma-separated features (default: the whole catalog)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; out: string; features?: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const r = await engine.call('datasets.export', opts.features ? { features: opts.features.split(',').map((f) => f.trim()) } : {});
      writeOutput(opts.out, r.csv, kit);
      kit.out(opts.json ? JSON.stringify({ out: opts.out, rows: r.rows }) + '\n' : `wrote ${r.rows} changes to ${opts.out}\n`);
    }));

  program.command('retrain')
    .description('train the next version of a built-in up to a cutoff, run both versions in shadow after it, and compare them')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--model <name|id>', 'the trained built-in to retrain')
    .option('--cutoff <time>', 'train on changes before this (ISO or epoch ms; default: 80 % of the history)')
    .option('--no-feedback', 'ignore human feedback labels')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; model: string; cutoff?: string; feedback: boolean; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const m = await findModel(engine, opts.model, kit);
      const { jobId } = await engine.call('models.retrain', { modelId: m.id, useFeedback: opts.feedback, ...(opts.cutoff ? { cutoff: time(opts.cutoff, '--cutoff', kit) } : {}) });
      const job = await kit.runJob(engine, jobId);
      if (job.state !== 'done') kit.fail(2, `retraining ${jobEnd(job)}`);
      const r = job.result as { comparison: Comparison };
      if (opts.json) return kit.out(JSON.stringify(job.result) + '\n');
      printComparison(r.comparison, kit.out);
    }));
}
