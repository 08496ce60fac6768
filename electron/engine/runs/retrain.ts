import { stringify } from 'csv-stringify/sync';
import type { Comparison } from '../../../shared/contract/gates.js';
import { RunConfig, type ModelInfo, type RunInfo } from '../../../shared/contract/models.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { allFeatures, buildFeatures, featureCatalog, loadChanges } from '../features/catalog.js';
import { labelChanges } from '../features/outcomes.js';
import { beginRetrain, discardRetrain, endRetrain } from './recovery.js';
import { compareModels } from '../gates/compare.js';
import type { JobContext } from '../jobs/jobs.js';
import { feedbackLabels, getModel, trainBuiltin, trainingOf } from '../models/registry.js';
import { runChangeRisk } from './replay-changes.js';

/**
 * The retraining loop (DESIGN.md §7): export a labelled dataset, train the next version of a
 * built-in on data up to a cutoff (human feedback can take precedence over attributed outcomes),
 * and run the new version against the old one in shadow over the period after the cutoff.
 */

/** Features as of each change's time, its outcome, and the label people gave it (if any), as CSV. */
export function exportDataset(db: Db, options: { features?: string[] | undefined }): { rows: number; csv: string } {
  const changes = loadChanges(db);
  const features = options.features ?? allFeatures(featureCatalog(db));
  const outcomes = labelChanges(db, undefined, changes);
  const human = feedbackLabels(db);
  const matrix = buildFeatures(db, changes, features, outcomes, changes);
  const records = changes.map((c, i) => {
    const o = outcomes.get(c.id)!;
    return [c.externalId, new Date(c.ts).toISOString(), ...matrix[i]!, o.label, o.source, human.get(c.id) ?? ''];
  });
  return { rows: records.length, csv: stringify([['change', 'timestamp', ...features, 'outcome', 'outcome_source', 'feedback_label'], ...records]) };
}

export interface RetrainResult {
  model: ModelInfo;
  run: RunInfo;
  comparison: Comparison;
}

export async function retrain(db: Db, input: { modelId: number; cutoff?: number | undefined; useFeedback: boolean }, job: JobContext): Promise<RetrainResult> {
  const old = getModel(db, input.modelId);
  const how = trainingOf(db, input.modelId);
  const changes = loadChanges(db);
  if (changes.length === 0) throw new EngineFailure('input_error', 'The workspace has no changes');
  // By default: learn from everything up to 80 % of the history, judge on the rest.
  const cutoff = input.cutoff ?? Math.max(changes[Math.floor(changes.length * 0.8)]!.ts, how.cutoff ?? -Infinity);
  // Judging both versions after a cutoff earlier than the old one's would score it on its own training data.
  if (how.cutoff !== null && cutoff < how.cutoff) throw new EngineFailure('input_error', `The cutoff ${new Date(cutoff).toISOString()} is before ${old.name} v${old.version}'s own (${new Date(how.cutoff).toISOString()}); the comparison would include its training data`);
  if (!changes.some((c) => c.ts >= cutoff)) throw new EngineFailure('input_error', `No changes after the cutoff ${new Date(cutoff).toISOString()} to compare the versions on`);
  job.progress({ fraction: 0.05, message: `training ${old.name} v${old.version + 1} on changes before ${new Date(cutoff).toISOString().slice(0, 10)}` });
  const lastRun = (db.prepare('SELECT coalesce(max(id), 0) FROM runs').pluck().get() as number);
  // If this process dies before the comparison lands, the next open removes the new version (recovery.ts).
  const model = db.transaction(() => {
    const m = trainBuiltin(db, { name: old.name, kind: how.kind, features: how.features, C: how.C, log1p: how.log1p, cutoff, useFeedback: input.useFeedback });
    beginRetrain(db, m.id, lastRun);
    return m;
  })();
  try {
    const run = await runChangeRisk(db, RunConfig.parse({ models: [old.id, model.id], from: cutoff }), job);
    const comparison = compareModels(db, { runId: run.id, championId: old.id, challengerId: model.id });
    endRetrain(db);
    return { model, run, comparison };
  } catch (err) {
    // Cancelled or failed, a retraining leaves nothing: not a new version nobody compared, nor
    // its half run. (A job that ends so says "the workspace is as it was", and it must be.)
    db.transaction(() => {
      discardRetrain(db, model.id, lastRun);
      endRetrain(db);
    })();
    throw err;
  }
}
