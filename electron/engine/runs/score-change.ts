import { z } from 'zod';
import { mitigationsFor, referenceOf } from '../../../shared/explain/mitigations.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { buildFeatures, featureCatalog, loadChanges, type ChangeRow } from '../features/catalog.js';
import { labelChanges } from '../features/outcomes.js';
import { getModel, loadScorer } from '../models/registry.js';
import { matrixOf, namesOf } from '../models/scorer.js';
import { scrubberFor } from '../pii/settings.js';

/**
 * One pending change, scored as a CI job would before a deploy: its features are built
 * point-in-time from the workspace as of now (history, incidents, failure rates known today),
 * then the model's risk, the top contributing signals and the suggested mitigations.
 */

export const PendingChange = z.object({
  id: z.string().min(1).max(200).default('pending'),
  service: z.string().min(1).max(200),
  /** when it would deploy (epoch ms); default now */
  timestamp: z.number().int().optional(),
  author: z.string().max(200).nullable().optional(),
  /** numeric attributes: lines_added, files_changed, … as in the workspace's changes */
  attributes: z.record(z.string(), z.number()).default({}),
});
export type PendingChangeInput = z.input<typeof PendingChange>;

export interface ChangeScore {
  change: string;
  model: { id: number; name: string; version: number };
  score: number;
  threshold: number;
  gate: boolean;
  contributions: { feature: string; value: number; contribution: number }[];
  mitigations: { feature: string; text: string }[];
  unknownAttributes: string[];
}

export async function scorePendingChange(db: Db, modelId: number, input: PendingChangeInput): Promise<ChangeScore> {
  const parsed = PendingChange.safeParse(input);
  if (!parsed.success) throw new EngineFailure('bad_request', `The change is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'change'}: ${i.message}`).join('; ')}`);
  const change = parsed.data;
  const model = getModel(db, modelId);
  if (model.task !== 'change-risk') throw new EngineFailure('input_error', `Model ${model.name} v${model.version} is a ${model.task} model; score-change needs a change-risk model`);
  // The workspace stores names as its import scrubbed them: look the change up the same way.
  const scrub = scrubberFor(db);
  const serviceName = scrub.id(change.service);
  const serviceId = db.prepare('SELECT id FROM services WHERE name = ?').pluck().get(serviceName) as number | undefined;
  if (serviceId === undefined) throw new EngineFailure('input_error', `Unknown service "${change.service}"; the workspace has ${(db.prepare('SELECT name FROM services ORDER BY name').pluck().all() as string[]).join(', ')}`);
  const ts = change.timestamp ?? Date.now();
  // Only the changes inside the history window before it: its features are the same.
  const all = loadChanges(db, ts);
  // Not stored: an id no stored change has, placed after everything the workspace knows.
  const pending: ChangeRow = { id: -1, externalId: change.id, serviceId, ts, author: change.author ? scrub.person(change.author) : null, attributes: change.attributes, outcome: null };
  const history = [...all.filter((c) => c.ts < ts), pending, ...all.filter((c) => c.ts >= ts)];
  const outcomes = labelChanges(db, undefined, all);
  outcomes.set(-1, { label: 0, knownAt: null, source: 'none', incident: null });
  const { scorer, reference, mitigations, release } = await loadScorer(db, modelId);
  try {
    // History and telemetry features come from the workspace; attributes only the change can give.
    const attributes = new Set(featureCatalog(db).attributes);
    const missing = scorer.features.filter((f) => attributes.has(f) && !(f in change.attributes));
    if (missing.length) throw new EngineFailure('input_error', `Model ${model.name} needs the attribute${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in the change's "attributes"`);
    const row = buildFeatures(db, [pending], scorer.features, outcomes, history)[0]!;
    const result = await scorer.score(matrixOf([row], scorer.features.length), namesOf([pending]));
    if (result.errors[0]) throw new EngineFailure('input_error', `Model ${model.name} could not score the change: ${result.errors[0]}`);
    const score = result.scores[0]!;
    const contributions = (await scorer.explain(row, reference, 20260901)).sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    return {
      change: change.id, model: { id: model.id, name: model.name, version: model.version }, score, threshold: model.threshold, gate: score >= model.threshold,
      contributions: contributions.slice(0, 8), mitigations: mitigationsFor(contributions, mitigations, referenceOf(scorer.features, reference)),
      // A misspelt attribute (lines_adedd beside lines_added) would otherwise pass without a word.
      unknownAttributes: Object.keys(change.attributes).filter((a) => !scorer.features.includes(a) && !attributes.has(a)),
    };
  } finally {
    await release();
  }
}
