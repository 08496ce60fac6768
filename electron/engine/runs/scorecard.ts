import type { Costs } from '../../../shared/metrics/classification.js';
import { unfinishedReason } from '../../../shared/domain/run-state.js';
import { sortPredictions, thresholdSweep } from '../../../shared/metrics/classification.js';
import { quantile } from '../../../shared/metrics/bootstrap.js';
import { bootstrapParallel } from '../metrics/parallel-bootstrap.js';
import type { Scorecard, Suggestion, SuggestionDetail } from '../../../shared/contract/models.js';
import { mitigationsFor, referenceOf } from '../../../shared/explain/mitigations.js';
import { noSuggestion } from './feedback.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { buildFeatures, loadChanges } from '../features/catalog.js';
import { labelChanges } from '../features/outcomes.js';
import { getModel, loadScorer } from '../models/registry.js';
import { matrixOf } from '../models/scorer.js';
import { drilledRow, getRun } from './replay-changes.js';
import { memo } from '../memo.js';
import { listFeedback } from './feedback.js';

interface SuggestionRow { change_id: number; score: number | null; decision: number | null; latency_ms: number | null; error: string | null; fallback_model_id: number | null; label: number; label_source: string; incident: string | null }

/** The change-risk scorecard of one model in one run, with bootstrap intervals (DESIGN.md §6); kept once computed (memo.ts). */
export function scorecard(db: Db, runId: number, modelId: number, options: { threshold?: number | undefined; resamples?: number | undefined } = {}): Promise<Scorecard> {
  return memo(db, `scorecard:${runId}:${modelId}:${options.threshold ?? ''}:${options.resamples ?? ''}`, () => computeScorecard(db, runId, modelId, options));
}

async function computeScorecard(db: Db, runId: number, modelId: number, options: { threshold?: number | undefined; resamples?: number | undefined }): Promise<Scorecard> {
  const run = getRun(db, runId);
  const why = unfinishedReason(run, 'a scorecard needs a finished run');
  if (why || !run.manifest) throw new EngineFailure('conflict', why ?? `Run ${runId} has no manifest; a scorecard needs a finished run`);
  const entry = run.manifest.models.find((m) => m.id === modelId);
  if (!entry) throw new EngineFailure('not_found', `Model ${modelId} is not part of run ${runId}`);
  const rows = db.prepare('SELECT change_id, score, decision, latency_ms, error, fallback_model_id, label, label_source, incident FROM suggestions WHERE run_id = ? AND model_id = ?').all(runId, modelId) as SuggestionRow[];
  const threshold = options.threshold ?? run.config.thresholds?.[String(modelId)] ?? getModel(db, modelId).threshold;
  const costs: Costs = run.config.costs;
  // A model is judged on the rows it answered itself: a fallback's answer has another model's
  // score scale and threshold, and is counted in fallback_rate instead.
  const scored = rows.filter((r) => r.score !== null && r.fallback_model_id === null);
  const sorted = sortPredictions(scored.map((r) => ({ score: r.score!, label: r.label === 1 ? 1 : 0 })));
  const resamples = options.resamples ?? 1000;
  const { point, intervals } = await bootstrapParallel(sorted, threshold, costs, { resamples, seed: run.config.seed });
  const sweep = thresholdSweep(sorted, costs);
  const reliability = Array.from({ length: 10 }, (_, bin) => {
    const inBin = scored.filter((r) => Math.min(Math.max(Math.floor(10 * r.score!), 0), 9) === bin);
    return {
      bin, count: inBin.length,
      meanScore: inBin.length ? inBin.reduce((a, r) => a + r.score!, 0) / inBin.length : null,
      observedRate: inBin.length ? inBin.reduce((a, r) => a + r.label, 0) / inBin.length : null,
    };
  });
  const drift = run.manifest.drift?.find((d) => d.modelId === modelId) ?? null;
  const span = db.prepare('SELECT min(c.ts) AS lo, max(c.ts) AS hi FROM suggestions s JOIN changes c ON c.id = s.change_id WHERE s.run_id = ? AND s.model_id = ?').get(runId, modelId) as { lo: number | null; hi: number | null };
  const services = run.config.services?.length ? run.config.services : null;
  const incidentsWithoutCause = span.lo === null ? 0 : db.prepare(`SELECT count(*) FROM incidents i JOIN services v ON v.id = i.service_id WHERE i.cause_change_id IS NULL AND i.started_ts >= ? AND i.started_ts <= ?${services ? ` AND v.name IN (${services.map(() => '?').join(',')})` : ''}`)
    .pluck().get(span.lo, span.hi, ...(services ?? [])) as number;
  const trainedUntil = getModel(db, modelId).trainedUntil;
  const early = trainedUntil === null ? 0 : db.prepare('SELECT count(*) FROM suggestions s JOIN changes c ON c.id = s.change_id WHERE s.run_id = ? AND s.model_id = ? AND c.ts < ?').pluck().get(runId, modelId, trainedUntil) as number;
  const latencies = rows.map((r) => r.latency_ms).filter((l): l is number => l !== null).sort((a, b) => a - b);
  return {
    runId, model: { id: modelId, name: entry.name, version: entry.version }, threshold, n: scored.length, positives: point.positives,
    metrics: intervals, confusion: point.confusion, sweep: sweep.points, costOptimalThreshold: sweep.costOptimal?.threshold ?? null, reliability,
    operations: {
      latency_p50_ms: latencies.length ? quantile(latencies, 0.5) : null,
      latency_p99_ms: latencies.length ? quantile(latencies, 0.99) : null,
      error_rate: rows.length ? rows.filter((r) => r.error !== null).length / rows.length : 0,
      fallback_rate: rows.length ? rows.filter((r) => r.fallback_model_id !== null).length / rows.length : 0,
      max_psi: drift?.maxPsi ?? null,
    },
    drift, attribution: run.manifest.attribution, resamples,
    trainingOverlap: early > 0 ? { trainedUntil: trainedUntil!, changes: early } : null,
    incidentsWithoutCause,
    answeredByFallback: rows.filter((r) => r.score !== null && r.fallback_model_id !== null).length,
  };
}

const SUGGESTION_SQL = `SELECT s.run_id, s.model_id, s.change_id, c.external_id, sv.name AS service, c.ts, s.score, s.decision, s.latency_ms, s.error,
  s.fallback_model_id, s.label, s.label_source, s.incident, c.rolled_back, s.explanation, s.fault
  FROM suggestions s JOIN changes c ON c.id = s.change_id JOIN services sv ON sv.id = c.service_id`;

type FullRow = SuggestionRow & { fault: string | null; run_id: number; model_id: number; external_id: string; service: string; ts: number; rolled_back: number | null; explanation: string | null };

function toSuggestion(r: FullRow): Suggestion {
  return {
    runId: r.run_id, modelId: r.model_id, changeId: r.change_id, externalId: r.external_id, service: r.service, ts: r.ts, score: r.score,
    decision: r.decision === null ? null : r.decision === 1, latencyMs: r.latency_ms, error: r.error, fallback: r.fallback_model_id !== null, fault: r.fault,
    outcome: { label: r.label, source: r.label_source, incident: r.incident, rolledBack: r.rolled_back === null ? null : r.rolled_back === 1 },
  };
}

/** Suggestions of one model, riskiest first; `gated` keeps only those the model would have held back. */
export function suggestionsPage(db: Db, input: { runId: number; modelId: number; offset: number; limit: number; gated?: boolean | undefined; minScore?: number | undefined; belowScore?: number | undefined; label?: 0 | 1 | undefined }): { total: number; offset: number; rows: Suggestion[] } {
  // `minScore` answers "what would this model hold back at threshold t?" for any t, not just the run's;
  // `belowScore` with `label: 1` "which incident-causing changes would it have let through?" (a
  // change it failed on, with no score, let nothing be held back either).
  const where = `WHERE s.run_id = @run AND s.model_id = @model${input.gated ? ' AND s.decision = 1' : ''}${input.minScore !== undefined ? ' AND s.score >= @min' : ''}`
    + `${input.belowScore !== undefined ? ' AND (s.score < @below OR s.score IS NULL)' : ''}${input.label !== undefined ? ' AND s.label = @label' : ''}`;
  const params = { run: input.runId, model: input.modelId, ...(input.minScore !== undefined ? { min: input.minScore } : {}), ...(input.belowScore !== undefined ? { below: input.belowScore } : {}), ...(input.label !== undefined ? { label: input.label } : {}) };
  const total = db.prepare(`SELECT count(*) FROM suggestions s ${where}`).pluck().get(params) as number;
  const rows = db.prepare(`${SUGGESTION_SQL} ${where} ORDER BY s.score IS NULL, s.score DESC, c.ts LIMIT @limit OFFSET @offset`).all({ ...params, limit: input.limit, offset: input.offset }) as FullRow[];
  return { total, offset: input.offset, rows: rows.map(toSuggestion) };
}

/**
 * One suggestion with its explanation and mitigations. Exact models are explained on the spot;
 * sampled Shapley values for ONNX models are computed on first request and stored with the
 * suggestion, so the same question always gets the same answer.
 */
export async function suggestionDetail(db: Db, runId: number, modelId: number, changeId: number): Promise<SuggestionDetail> {
  const r = db.prepare(`${SUGGESTION_SQL} WHERE s.run_id = ? AND s.model_id = ? AND s.change_id = ?`).get(runId, modelId, changeId) as FullRow | undefined;
  if (!r) throw new EngineFailure('not_found', noSuggestion(db, runId, modelId, changeId));
  const base = toSuggestion(r);
  // A row the fallback answered carries the fallback's score: explain that model's answer.
  const answeredBy = r.fallback_model_id ?? modelId;
  const { scorer, reference, mitigations, release } = await loadScorer(db, answeredBy);
  try {
    let explanation: SuggestionDetail['explanation'];
    if (r.explanation) explanation = JSON.parse(r.explanation) as SuggestionDetail['explanation'];
    else if (r.score === null || scorer.features.length === 0) explanation = { method: 'none', reference: null, contributions: [] };
    else {
      const run = getRun(db, runId);
      let row: number[] | null;
      if (run.config.drill) row = drilledRow(db, run, scorer.features, changeId);
      else {
        // Only the changes inside the history window before this one: their features are the same.
        const at = db.prepare('SELECT ts FROM changes WHERE id = ?').pluck().get(changeId) as number;
        const all = loadChanges(db, at);
        const change = all.find((c) => c.id === changeId)!;
        row = buildFeatures(db, [change], scorer.features, labelChanges(db, run.manifest!.attribution, all), all)[0]!;
      }
      const notes: string[] = [];
      if (r.fallback_model_id !== null) {
        const fb = getModel(db, r.fallback_model_id);
        notes.push(`This change was answered by the fallback, ${fb.name} v${fb.version}, after this model failed on it: the explanation is the fallback's.`);
      }
      // An explanation is kept with the suggestion unless it is of other inputs than the model saw.
      let keep = true;
      if (row === null) {
        explanation = { method: 'none', reference: null, contributions: [], note: [...notes, "Changes were imported into this drill run's range since it ran, so the inputs the drill gave the model cannot be rebuilt."].join(' ') };
      } else {
        // A drill's missing inputs reached the model imputed with its reference values.
        row = row.map((v, j) => (Number.isFinite(v) ? v : reference[j] ?? 0));
        const faults = r.fault?.split(',') ?? [];
        if (run.config.drill) notes.push('The inputs shown are the ones the drill gave the model.');
        if (faults.includes('flipped')) notes.push("The drill reflected this row's score across the threshold after the model answered: the contributions add up to the model's own score, not the stored one.");
        // The inputs are rebuilt from the workspace as it is now. Incidents or changes imported since
        // the run change them (an incident count, a failure rate), and an explanation of other inputs
        // than the model saw would be told as if it were the model's: checked by scoring them again.
        // Not for a drill: its stored answers may be the drill's own (garbage outputs), and imports since it
        // are caught above (drilledRow gives null).
        const rescored = run.config.drill ? null : (await scorer.score(matrixOf([row], scorer.features.length))).scores[0]!;
        const stale = rescored !== null && !(Math.abs(rescored - r.score!) <= 1e-5); // float32 models: batch and single-row kernels round differently
        if (stale) {
          notes.push(`The workspace has changed since run ${runId} (data imported since): today's inputs for this change give ${rescored!.toFixed(3)} where the run stored ${r.score!.toFixed(3)}, so this explains today's inputs, not the ones the model saw. Run the model again to explain its answer on today's data.`);
        }
        const contributions = (await scorer.explain(row, reference, run.config.seed ^ changeId)).sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
        const refScore = (await scorer.score(matrixOf([reference], scorer.features.length))).scores[0]!;
        explanation = { method: scorer.explainMethod, reference: refScore, contributions, ...(notes.length > 0 ? { note: notes.join(' ') } : {}) };
        keep = !stale;
      }
      if (keep) db.prepare('UPDATE suggestions SET explanation = ? WHERE run_id = ? AND model_id = ? AND change_id = ?').run(JSON.stringify(explanation), runId, modelId, changeId);
    }
    return { ...base, explanation, mitigations: mitigationsFor(explanation.contributions, mitigations, referenceOf(scorer.features, reference)), feedback: listFeedback(db, { runId, modelId, changeId }) };
  } finally {
    await release();
  }
}
