import type { Command } from 'commander';
import { resolveRun, runId, wholeNumber, jobEnd } from './cli-args.js';
import { z } from 'zod';
import { AttributionRuleSchema, RunConfig, type RunConfigInput, type RunInfo, type Scorecard } from '../shared/contract/models.js';
import { RunGuard } from '../shared/contract/drills.js';
import type { Engine } from './engine/engine.js';
import { findModel, printScorecard, readJson, time, type CliKit } from './cli-models.js';

/**
 * `shadowbench run` (flags, or `--config run.json`, DESIGN.md §9) and `runs list|show`. A run's
 * config can be printed back as a config file (`runs show --run N --config`), so a CI job can
 * re-run exactly what someone ran in the app: same models (by id, so the same versions), range,
 * thresholds, attribution rule, seed and guard.
 */

const ModelRef = z.union([z.string().min(1).max(200), z.number().int().positive()]);
const Time = z.union([z.string().min(1).max(100), z.number().int()]);

/** A run config file: the run's config with names and readable times where the engine takes ids and epoch ms. */
export const RunFile = z.strictObject({
  models: z.array(ModelRef).min(1).max(20).optional(),
  /** ISO 8601 with an offset, epoch ms, or "after-training" */
  from: Time.optional(),
  /** exclusive */
  until: Time.optional(),
  services: z.array(z.string().min(1).max(200)).max(1000).optional(),
  /** per model (name or id): the decision threshold; default each model's own */
  thresholds: z.record(z.string(), z.number().min(0).max(1)).optional(),
  attribution: AttributionRuleSchema.optional(),
  fallback: ModelRef.optional(),
  seed: z.number().int().optional(),
  batchSize: z.number().int().min(1).max(65536).optional(),
  costs: z.strictObject({ missedIncident: z.number().nonnegative(), delayedChange: z.number().nonnegative() }).optional(),
  guard: RunGuard.optional(),
});
export type RunFile = z.infer<typeof RunFile>;

function readRunFile(file: string, kit: CliKit): RunFile {
  const parsed = RunFile.safeParse(readJson(file, kit));
  if (!parsed.success) {
    const keys = (path: PropertyKey[]): string => Object.keys((path[0] === 'guard' ? RunGuard : path[0] === 'costs' ? RunFile.shape.costs.unwrap() : RunFile).shape).join(', ');
    kit.fail(2, `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}${i.code === 'unrecognized_keys' ? ` (it takes ${keys(i.path)})` : ''}`).join('; ')}`);
  }
  return parsed.data;
}

const ref = (r: string | number): string => String(r);

/** Resolves a config file plus flags (flags win) to what `runs.start` takes. */
async function resolveRunFile(engine: Engine, file: RunFile, kit: CliKit): Promise<RunConfigInput> {
  if (!file.models?.length) kit.fail(2, 'which models? give --models NAME,… or "models" in the --config file');
  const ids: number[] = [];
  for (const m of file.models) {
    const model = await findModel(engine, ref(m), kit);
    // "champion,candidate" once the candidate is the champion: one model, run once.
    if (ids.includes(model.id)) kit.warn(`${ref(m)} is ${model.name} v${model.version}, already in --models; it runs once\n`);
    else ids.push(model.id);
    // Kept runnable (a logged config names models by id, and must re-run), but never silently.
    if (model.status === 'retired') kit.warn(`warning: ${model.name} v${model.version} is retired; it runs as asked\n`);
  }
  const fallback = file.fallback === undefined ? undefined : (await findModel(engine, ref(file.fallback), kit)).id;
  let from: number | undefined;
  if (file.from === 'after-training') {
    const cutoffs = (await engine.call('models.list', {})).filter((m) => ids.includes(m.id)).map((m) => m.trainedUntil).filter((c): c is number => c !== null);
    if (cutoffs.length === 0) kit.fail(2, 'from "after-training": none of these models has a training cutoff (built-ins trained in the app have one; an ONNX model has one when its manifest gives "trainedUntil", the end of its training data in epoch ms). Add it to the manifest, or give --from TIME');
    from = Math.max(...cutoffs);
  } else if (file.from !== undefined) from = time(ref(file.from), 'from', kit);
  const until = file.until === undefined ? undefined : time(ref(file.until), 'until', kit);
  if (from !== undefined && until !== undefined && until <= from) kit.fail(2, `until (${new Date(until).toISOString()}) must be after from (${new Date(from).toISOString()})`);
  let thresholds: Record<string, number> | undefined;
  if (file.thresholds) {
    thresholds = {};
    for (const [name, t] of Object.entries(file.thresholds)) {
      const id = (await findModel(engine, name, kit)).id;
      if (!ids.includes(id)) kit.fail(2, `thresholds: "${name}" is not one of this run's models`);
      thresholds[String(id)] = t;
    }
  }
  const config: RunConfigInput = {
    models: ids,
    ...(from !== undefined ? { from } : {}), ...(until !== undefined ? { until } : {}),
    ...(file.services ? { services: file.services } : {}), ...(thresholds ? { thresholds } : {}),
    ...(file.attribution ? { attribution: file.attribution } : {}), ...(fallback !== undefined ? { fallbackModel: fallback } : {}),
    ...(file.seed !== undefined ? { seed: file.seed } : {}), ...(file.batchSize !== undefined ? { batchSize: file.batchSize } : {}),
    ...(file.costs ? { costs: file.costs } : {}), ...(file.guard ? { guard: file.guard } : {}),
  };
  // The engine checks everything again; this catches what the file cannot say (e.g. 21 models) with the file's words.
  const checked = RunConfig.safeParse(config);
  if (!checked.success) kit.fail(2, checked.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; '));
  return config;
}

/** A finished run's config as a file `run --config` takes: the same models (ids pin the versions), range, rule and seed. */
export function runFileOf(run: RunInfo): RunFile {
  const c = run.config;
  return {
    models: c.models,
    ...(c.from !== undefined ? { from: new Date(c.from).toISOString() } : {}),
    ...(c.until !== undefined ? { until: new Date(c.until).toISOString() } : {}),
    ...(c.services ? { services: c.services } : {}),
    ...(c.thresholds ? { thresholds: c.thresholds } : {}),
    // The rule the run actually used (the default depends on the data), so a re-run cannot drift from it.
    attribution: run.manifest?.attribution ?? c.attribution,
    ...(c.fallbackModel !== undefined ? { fallback: c.fallbackModel } : {}),
    seed: c.seed, batchSize: c.batchSize, costs: c.costs,
    ...(c.guard ? { guard: c.guard } : {}),
  };
}

export function registerRunCommands(program: Command, kit: CliKit): void {
  program.command('run')
    .description('a change-risk shadow run: score every change in the range with each model, then print the scorecards')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--config <file>', 'run config JSON: models, from, until, services, thresholds, attribution, fallback, seed, costs, guard (flags override it; `runs show --config` prints one)')
    .option('--models <list>', 'comma-separated model names or ids')
    .option('--from <time>', 'first change time (ISO or epoch ms), or "after-training": right after the latest training cutoff of the models')
    .option('--until <time>', 'end of the range, exclusive')
    .option('--services <list>', 'comma-separated services')
    .option('--fallback <name|id>', 'model that answers where a model fails')
    .option('--resamples <n>', 'bootstrap resamples for the intervals', wholeNumber(0, 10000), 1000)
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; config?: string; models?: string; from?: string; until?: string; services?: string; fallback?: string; resamples: number; json?: boolean }) => {
      const resamples = opts.resamples;
      const file: RunFile = opts.config ? readRunFile(opts.config, kit) : {};
      const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);
      const merged: RunFile = {
        ...file,
        ...(opts.models !== undefined ? { models: list(opts.models) } : {}),
        ...(opts.from !== undefined ? { from: opts.from } : {}),
        ...(opts.until !== undefined ? { until: opts.until } : {}),
        ...(opts.services !== undefined ? { services: list(opts.services) } : {}),
        ...(opts.fallback !== undefined ? { fallback: opts.fallback } : {}),
      };
      return kit.withWorkspace(opts.workspace, async (engine) => {
        const config = await resolveRunFile(engine, merged, kit);
        // A range reaching into a model's training window scores changes it learned from: say so (a CI
        // job comparing scorecards would otherwise trust numbers that read too good).
        const first = config.from ?? (await engine.call('changes.page', { order: 'asc', limit: 1 })).rows[0]?.ts;
        for (const m of (await engine.call('models.list', {})).filter((x) => config.models.includes(x.id))) {
          if (m.trainedUntil !== null && first !== undefined && first < m.trainedUntil) {
            kit.warn(`warning: ${m.name} v${m.version} was trained on changes before ${new Date(m.trainedUntil).toISOString()}; this run starts earlier, so some of its scores are on its own training data (--from after-training avoids that)\n`);
          }
        }
        const { jobId } = await engine.call('runs.start', config);
        const job = await kit.runJob(engine, jobId);
        if (job.state !== 'done') kit.fail(2, `run ${jobEnd(job)}`);
        const run = job.result as RunInfo;
        const cards: Scorecard[] = [];
        for (const id of config.models) cards.push(await engine.call('runs.scorecard', { runId: run.id, modelId: id, resamples }));
        if (opts.json) return kit.out(JSON.stringify({ run, scorecards: cards }) + '\n');
        const m = run.manifest!;
        const sources = Object.entries(m.outcomeSources).map(([k, v]) => `${v} ${k}`).join(', ');
        // Where every outcome is the change's own label (JIT data), the rule decided nothing: say so.
        const allExplicit = (m.outcomeSources['explicit'] ?? 0) === m.subjects;
        const rule = allExplicit ? '; attribution rule not used (every outcome is the change\'s own label)'
          : m.attribution.enabled ? `; attribution rule on: severity ≤ ${m.attribution.maxSeverity} within ${m.attribution.windowHours} h` : '; attribution rule off';
        kit.out(`run ${run.id}: ${m.subjects} changes; outcomes: ${sources}${rule}\n`);
        for (const card of cards) printScorecard(card, kit.out);
      });
    });

  const runs = program.command('runs').description('the runs of a workspace: list them, or show one (and its config, to run it again)');

  runs.command('list')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const list = await engine.call('runs.list', {});
      // Detection runs are numbered on their own: listed after, named as such, so "run 1" is never ambiguous.
      const detection = await engine.call('detection.runs', {});
      if (opts.json) return kit.out(JSON.stringify(list) + '\n');
      if (list.length === 0 && detection.length === 0) return kit.out('no runs yet\n');
      for (const r of list) {
        const models = r.manifest?.models.map((m) => `${m.name} v${m.version}`).join(', ') ?? r.config.models.join(', ');
        const subjects = r.manifest ? `${r.manifest.subjects} ${r.task === 'change-risk' ? 'changes' : 'subjects'}` : '';
        kit.out(`${String(r.id).padStart(4)}  ${r.task.padEnd(11)} ${r.state.padEnd(11)} ${new Date(r.startedAt).toISOString().slice(0, 16).replace('T', ' ')}  ${models}${subjects ? `  ${subjects}` : ''}${r.config.drill ? `  (drill ${r.config.drill.name} of run ${r.config.drill.baseRun})` : ''}\n`);
      }
      if (detection.length > 0) kit.out(`detection runs (numbered on their own: gate and report them with --detection-run; compare takes change-risk runs):\n`);
      for (const r of detection) {
        kit.out(`${String(r.id).padStart(4)}  detection   ${r.state.padEnd(11)} ${new Date(r.startedAt).toISOString().slice(0, 16).replace('T', ' ')}  ${r.models.map((m) => `${m.name} v${m.version}`).join(', ')}  ${r.points.toLocaleString('en-US')} points\n`);
      }
    }));

  runs.command('delete')
    .description('remove a run and its suggestions (not one still running, nor one with human feedback), or with --detection-run a detection run and its scores and alerts; `compact` then gives the space back')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--run <id>', 'run id', runId)
    .option('--detection-run <id>', 'a detection run instead (its id; runs list shows them)', wholeNumber(1, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; run?: number; detectionRun?: number; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      if ((opts.run === undefined) === (opts.detectionRun === undefined)) kit.fail(2, opts.run === undefined ? 'give --run (a change-risk run) or --detection-run (a detection run)' : '--run and --detection-run: give one (detection runs are numbered apart from change-risk runs)');
      if (opts.detectionRun !== undefined) {
        const d = await engine.call('detection.delete', { id: opts.detectionRun });
        if (opts.json) return kit.out(JSON.stringify(d) + '\n');
        return kit.out(`deleted detection run ${d.id}: ${d.alerts.toLocaleString('en-US')} alerts, ${d.scoreChunks.toLocaleString('en-US')} chunks of scores${d.drillResults ? `, ${d.drillResults} drill result${d.drillResults === 1 ? '' : 's'}` : ''}\n`);
      }
      const r = await engine.call('runs.delete', { id: await resolveRun(engine, opts.run!, kit) });
      if (opts.json) return kit.out(JSON.stringify(r) + '\n');
      kit.out(`deleted run ${r.id}: ${r.suggestions.toLocaleString('en-US')} suggestions${r.drillResults ? `, ${r.drillResults} drill result${r.drillResults === 1 ? '' : 's'}` : ''}\n`);
    }));

  runs.command('show')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--run <id>', 'run id, or "latest"', runId)
    .option('--config', 'print only the run\'s config, as a file `run --config` takes')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; run: number; config?: boolean; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const list = await engine.call('runs.list', {});
      const id = await resolveRun(engine, opts.run, kit);
      const run = list.find((r) => r.id === id);
      if (!run) kit.fail(2, `No run ${opts.run}; runs: ${list.map((r) => r.id).join(', ') || 'none yet'}`);
      if (opts.config) {
        if (run.task !== 'change-risk') kit.fail(2, `run ${run.id} is a ${run.task} run; \`run --config\` re-runs change-risk runs`);
        if (run.config.drill) kit.warn(`note: run ${run.id} is drill "${run.config.drill.name}" of run ${run.config.drill.baseRun}; this config runs the same models without its faults\n`);
        return kit.out(JSON.stringify(runFileOf(run), null, 2) + '\n');
      }
      if (opts.json) return kit.out(JSON.stringify(run) + '\n');
      const m = run.manifest;
      kit.out(`run ${run.id}: ${run.task}, ${run.state}, started ${new Date(run.startedAt).toISOString()}${run.finishedAt ? `, took ${((run.finishedAt - run.startedAt) / 1000).toFixed(1)} s` : ''}\n`);
      if (run.error) kit.out(`  error: ${run.error}\n`);
      if (m) {
        for (const x of m.models) kit.out(`  model ${x.name} v${x.version} (id ${x.id}) sha256 ${x.sha256}\n`);
        kit.out(`  dataset ${m.datasetFingerprint}; ${m.subjects} subjects; seed ${m.seed}; code ${m.codeVersion}\n`);
        kit.out(`  attribution rule ${m.attribution.enabled ? `on: severity ≤ ${m.attribution.maxSeverity} within ${m.attribution.windowHours} h` : 'off'}\n`);
      }
      const c = run.config;
      kit.out(`  range ${c.from !== undefined ? new Date(c.from).toISOString() : 'start'} – ${c.until !== undefined ? new Date(c.until).toISOString() : 'end'}${c.services ? `; services ${c.services.join(', ')}` : ''}\n`);
    }));
}
