import type { Command } from 'commander';
import { decimal, wholeNumber } from './cli-args.js';
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { ModelInfo, Scorecard } from '../shared/contract/models.js';
import { sortPredictions, thresholdSweep } from '../shared/metrics/classification.js';
import { bootstrapMetrics } from '../shared/metrics/bootstrap.js';
import { parseTimestamp } from '../shared/domain/time.js';
import type { Engine } from './engine/engine.js';
import { ALREADY_REGISTERED } from './engine/models/registry.js';
import { warmUpSummary } from '../shared/drills/warm-up.js';
import { trainingOverlapSentence } from '../shared/domain/training-overlap.js';
import { unattributedSentence } from '../shared/domain/unattributed.js';
import { fallbackSentence } from '../shared/domain/fallback.js';

/**
 * `shadowbench models …`, `run` and `evaluate`: the change-risk commands. They share the engine
 * plumbing of cli.ts through `withWorkspace`, `runJob` and `fail`.
 */
export interface CliKit {
  out: (text: string) => void;
  /** to stderr: what the user should know that is not the command's output */
  warn: (text: string) => void;
  withWorkspace<T>(workspace: string, work: (engine: Engine) => Promise<T>, options?: { create?: boolean }): Promise<T>;
  runJob(engine: Engine, jobId: string): Promise<{ state: string; result?: unknown; error: { message: string } | null }>;
  fail(code: number, message: string): never;
}

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));
// "— (undefined …)" where a metric has no value (precision with nothing flagged, AUC with one class):
// said in words, as the app does; JSON keeps null.
const interval = (m: { value: number | null; lo: number | null; hi: number | null } | undefined): string =>
  !m || m.value === null ? '— (undefined here: nothing to count it over, e.g. no change flagged at this threshold)' : `${pct(m.value)} [${pct(m.lo)}, ${pct(m.hi)}]`;

export function time(value: string, flag: string, kit: CliKit): number {
  const parsed = parseTimestamp(value, { unit: 'ms' });
  if (!parsed.ok) kit.fail(2, `${flag}: ${parsed.reason} (give ISO 8601 with an offset, or epoch ms)`);
  return parsed.ms;
}

export function printScorecard(card: Scorecard, out: (t: string) => void): void {
  const m = card.metrics;
  out(`${card.model.name} v${card.model.version}: ${card.n} changes, ${card.positives} failed (caused an incident or labelled so) (threshold ${card.threshold})\n`);
  const leak = trainingOverlapSentence(card.model, card.n, card.trainingOverlap);
  if (leak) out(`  WARNING: ${leak}\n`);
  const unlinked = unattributedSentence(card.incidentsWithoutCause ?? 0, card.attribution.enabled);
  if (unlinked) out(`  note: ${unlinked}\n`);
  const fallback = fallbackSentence(card.answeredByFallback ?? 0);
  if (fallback) out(`  note: ${fallback}\n`);
  for (const key of ['auc_roc', 'average_precision', 'recall', 'precision', 'fpr', 'brier', 'ece', 'capture_at_10', 'expected_cost']) out(`  ${key.padEnd(18)} ${interval(m[key])}\n`);
  out(`  cost-optimal threshold ${pct(card.costOptimalThreshold)}; errors ${(card.operations.error_rate * 100).toFixed(1)} %, fallbacks ${(card.operations.fallback_rate * 100).toFixed(1)} %\n`);
  if (card.drift) {
    out(`  drift vs ${card.drift.reference}: max PSI ${card.drift.maxPsi?.toFixed(2) ?? '—'} on ${card.drift.worst ?? '—'}${card.drift.flag ? ' — DRIFT FLAG RAISED' : ''}\n`);
    const warmUp = warmUpSummary(card.drift);
    if (warmUp) out(`  ${warmUp}\n`);
  }
}

export function registerModelCommands(program: Command, kit: CliKit): void {
  const models = program.command('models').description('the model registry: add ONNX models, train baselines, list, export');

  models.command('list')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const list = await engine.call('models.list', {});
      if (opts.json) return kit.out(JSON.stringify(list) + '\n');
      for (const m of list) kit.out(`${String(m.id).padStart(3)}  ${m.name} v${m.version}  ${m.kind}${m.builtin ? `/${m.builtin}` : ''}  ${m.status}  ${m.features.length} features  threshold ${m.threshold}  ${m.sha256.slice(0, 12)}\n`);
    }));

  models.command('inspect')
    .description('one model in full: manifest, features, threshold, hash, notes')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--model <name|id>', 'model')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; model: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const m = await findModel(engine, opts.model, kit);
      if (opts.json) return kit.out(JSON.stringify(m) + '\n');
      kit.out(`${m.name} v${m.version} (id ${m.id}) — ${m.kind}${m.builtin ? `/${m.builtin}` : ''}, ${m.status}\n  ${m.description}\n  sha256 ${m.sha256}\n  threshold ${m.threshold}${m.trainedUntil ? `; trained on changes before ${new Date(m.trainedUntil).toISOString()}` : ''}\n  features (${m.features.length}): ${m.features.join(', ') || '—'}\n${m.notes.map((n) => `  note: ${n}\n`).join('')}`);
    }));

  models.command('retire')
    .description('retire a model: it stays in the registry and in past runs, but is no longer offered')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--model <name|id>', 'model')
    .action(async (opts: { workspace: string; model: string }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const m = await engine.call('models.retire', { id: (await findModel(engine, opts.model, kit)).id });
      kit.out(`retired ${m.name} v${m.version}\n`);
    }));

  models.command('add')
    .description('register an ONNX change-risk model with its manifest (JSON)')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--onnx <file>', 'the .onnx file')
    .requiredOption('--manifest <file>', 'manifest JSON: name, input, features, output[, column, threshold, reference, mitigations]')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; onnx: string; manifest: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      // A CI job run again adds the same model again: that is the version already there, not an error.
      const model = await engine.call('models.addOnnxPath', { path: opts.onnx, manifest: readJson(opts.manifest, kit) as never, reuse: true });
      if (opts.json) kit.out(JSON.stringify(model) + '\n');
      else if (model.notes[0]?.startsWith(ALREADY_REGISTERED)) kit.out(`${model.notes[0]} (id ${model.id}, sha256 ${model.sha256.slice(0, 12)})\n`);
      else kit.out(`added ${model.name} v${model.version} (id ${model.id}, sha256 ${model.sha256.slice(0, 12)})\n${model.notes.map((n) => `  note: ${n}\n`).join('')}`);
    }));

  models.command('train')
    .description('train a built-in baseline on the changes before a cutoff: logistic, single-feature (LApredict) or the heuristic rules')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--name <name>', 'model name')
    .option('--kind <kind>', 'logistic | single-feature | heuristic', 'logistic')
    .option('--features <list>', 'comma-separated feature names (default: every feature in the catalog)')
    .option('--cutoff <time>', 'train on changes before this time (ISO or epoch ms; default: the first 70 %)')
    .option('--train-fraction <f>', 'train on the first fraction of changes by time, e.g. 0.8')
    .option('--C <c>', 'inverse L2 strength, as scikit-learn', decimal(1e-6, 1e6), 1)
    .option('--no-log1p', 'do not log-transform features before standardising')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; name: string; kind: string; features?: string; cutoff?: string; trainFraction?: string; C: number; log1p: boolean; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      if (!['logistic', 'single-feature', 'heuristic'].includes(opts.kind)) kit.fail(2, `--kind must be logistic, single-feature or heuristic, got "${opts.kind}"`);
      if (opts.cutoff !== undefined && opts.trainFraction !== undefined) kit.fail(2, '--cutoff and --train-fraction both say where training stops: give one');
      if (opts.kind === 'single-feature' && opts.features && opts.features.split(',').filter((x) => x.trim()).length !== 1) kit.fail(2, `--kind single-feature takes exactly one feature, got --features ${opts.features}`);
      let cutoff = opts.cutoff ? time(opts.cutoff, '--cutoff', kit) : undefined;
      if (opts.trainFraction !== undefined) {
        const f = Number(opts.trainFraction);
        if (!(f > 0 && f < 1)) kit.fail(2, `--train-fraction takes a number between 0 and 1, got "${opts.trainFraction}"`);
        const total = (await engine.call('changes.page', { limit: 1 })).total;
        if (total === 0) kit.fail(2, 'the workspace has no changes to train on: import changes first');
        cutoff = (await engine.call('changes.page', { order: 'asc', offset: Math.floor(total * f), limit: 1 })).rows[0]!.ts;
      }
      const model: ModelInfo = await engine.call('models.train', {
        name: opts.name, kind: opts.kind as 'logistic', C: opts.C, log1p: opts.log1p,
        ...(opts.features ? { features: opts.features.split(',').map((s) => s.trim()).filter(Boolean) } : {}), ...(cutoff !== undefined ? { cutoff } : {}),
      });
      if (opts.json) kit.out(JSON.stringify({ ...model, cutoff }) + '\n');
      else kit.out(`trained ${model.name} v${model.version} (id ${model.id}): ${model.description}; threshold ${model.threshold}\n`);
    }));

  models.command('export')
    .description('write a model as .onnx plus .manifest.json (trained logistic models and ONNX models)')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--model <name|id>', 'model')
    .requiredOption('--out <file.onnx>', 'output file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; model: string; out: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const model = await findModel(engine, opts.model, kit);
      const written = await engine.call('models.exportPath', { id: model.id, path: opts.out });
      kit.out(opts.json ? JSON.stringify(written) + '\n' : `wrote ${written.onnx} and ${written.manifest}\n`);
    }));

  program.command('evaluate')
    .description('score a file of predictions (subject,score[,label]); with labels in the file no workspace is needed')
    .requiredOption('--predictions <file>', 'CSV with columns subject, score and optionally label')
    .option('--task <task>', 'change-risk', 'change-risk')
    .option('--workspace <path>', 'workspace whose changes give the labels when the file has none')
    .option('--threshold <t>', 'decision threshold', decimal(0, 1), 0.5)
    .option('--resamples <n>', 'bootstrap resamples', wholeNumber(0, 10000), 1000)
    .option('--json', 'print one JSON document')
    .action(async (opts: { predictions: string; task: string; workspace?: string; threshold: number; resamples: number; json?: boolean }) => {
      if (opts.task !== 'change-risk') kit.fail(2, `--task ${opts.task}: only change-risk can be evaluated from a file so far`);
      let records: Array<Record<string, string>>;
      try {
        records = parse(fs.readFileSync(opts.predictions), { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Array<Record<string, string>>;
      } catch (err) {
        kit.fail(2, `${opts.predictions}: ${(err as Error).message}`);
      }
      if (records.length === 0 || !('subject' in records[0]!) || !('score' in records[0]!)) kit.fail(2, `${opts.predictions}: needs the columns subject and score (and label, or --workspace)`);
      const hasLabels = 'label' in records[0]!;
      let labels = new Map<string, number>();
      let ruleText: string | null = null;
      if (!hasLabels) {
        if (!opts.workspace) kit.fail(2, `${opts.predictions} has no label column; pass --workspace to take the outcomes from its changes`);
        // The outcomes a run in that workspace would use: the change's own label, a postmortem link, else the attribution rule.
        const known = await kit.withWorkspace(opts.workspace, (engine) => engine.call('changes.outcomes', {}));
        labels = new Map(known.outcomes.map((o) => [o.change, o.label]));
        const a = known.attribution;
        ruleText = a.enabled ? `attribution rule on: a SEV ≤ ${a.maxSeverity} incident within ${a.windowHours} h after a change marks it` : 'attribution rule off';
      }
      // As the predictions importer and a model run judge them: one score per subject, in [0, 1].
      const seen = new Map<string, number>();
      const preds = records.map((r, i) => {
        const line = i + 2;
        const score = Number(r.score);
        const label = hasLabels ? Number(r.label) : labels.get(r.subject!);
        if (!Number.isFinite(score)) kit.fail(2, `${opts.predictions} line ${line}: score "${r.score}" is not a number`);
        if (score < 0 || score > 1) kit.fail(2, `${opts.predictions} line ${line}: score ${r.score} must be between 0 and 1 (a probability of an incident)`);
        const first = seen.get(r.subject!);
        if (first !== undefined) kit.fail(2, `${opts.predictions} line ${line}: subject "${r.subject}" is already at line ${first}; each change is scored once`);
        seen.set(r.subject!, line);
        if (label === undefined) kit.fail(2, `${opts.predictions} line ${line}: subject "${r.subject}" is not a change in the workspace`);
        if (label !== 0 && label !== 1) kit.fail(2, `${opts.predictions} line ${line}: label "${r.label}" must be 0 or 1`);
        return { score, label: label as 0 | 1 };
      });
      const sorted = sortPredictions(preds);
      const threshold = opts.threshold;
      const { point, intervals } = bootstrapMetrics(sorted, threshold, undefined, { resamples: opts.resamples });
      const sweep = thresholdSweep(sorted);
      const result = { task: 'change-risk', n: point.n, positives: point.positives, threshold, metrics: intervals, confusion: point.confusion, costOptimalThreshold: sweep.costOptimal?.threshold ?? null, labels: ruleText ?? 'from the file' };
      if (opts.json) kit.out(JSON.stringify(result) + '\n');
      else {
        kit.out(`${opts.predictions}: ${point.n} subjects, ${point.positives} positive (threshold ${threshold}; labels ${ruleText ? `from the workspace, ${ruleText}` : 'from the file'})\n`);
        for (const [k, v] of Object.entries(intervals)) kit.out(`  ${k.padEnd(18)} ${interval(v)}\n`);
      }
    });
}

/** A JSON file the user named, or a usage error that says which file and why. */
export function readJson(file: string, kit: CliKit): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return kit.fail(2, `${file}: ${(err as Error).message}`);
  }
}

/** A model by id or name (the newest active version); `among` narrows the choice and the names offered (a task's models). */
export async function findModel(engine: Engine, nameOrId: string, kit: CliKit, among?: ModelInfo[]): Promise<ModelInfo> {
  const list = among ?? await engine.call('models.list', {});
  // "champion" names the workspace's change-risk champion (unless a model is literally called that).
  if (nameOrId === 'champion' && !list.some((m) => m.name === 'champion')) {
    const { changeRisk } = await engine.call('roles.get', {});
    if (changeRisk === null) kit.fail(2, 'No champion set: `shadowbench champion --workspace P --model NAME`');
    return list.find((m) => m.id === changeRisk)!;
  }
  const found = /^\d+$/.test(nameOrId) ? list.find((m) => m.id === Number(nameOrId)) : [...list].reverse().find((m) => m.name === nameOrId && m.status === 'active');
  if (!found) kit.fail(2, `No active ${among ? `${among[0]?.task ?? 'such'} ` : ''}model "${nameOrId}"; ${among ? 'these are' : 'models'}: ${[...new Set(list.filter((m) => m.status === 'active').map((m) => m.name))].join(', ') || 'none yet'}`);
  return found;
}
