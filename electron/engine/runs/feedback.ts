import { FeedbackInput, type Feedback, type FeedbackSummary } from '../../../shared/contract/models.js';
import { scrubberFor } from '../pii/settings.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';

/**
 * Human feedback on suggestions: agree, disagree, or override with a decision, always with a
 * reason, an author and a time. Stored beside the suggestion, never over it.
 */

interface Row { id: number; run_id: number; model_id: number; change_id: number; verdict: Feedback['verdict']; decision: number | null; reason: string; author: string; ts: number }

const toFeedback = (r: Row): Feedback => ({
  id: r.id, runId: r.run_id, modelId: r.model_id, changeId: r.change_id, verdict: r.verdict,
  decision: r.decision === null ? null : r.decision === 1 ? 'hold back' : 'let through', reason: r.reason, author: r.author, ts: r.ts,
});

/** Why a change has no suggestion, in the user's words: the change's and model's names, and what the run scored. */
export function noSuggestion(db: Db, runId: number, modelId: number, changeId: number): string {
  const change = db.prepare('SELECT external_id, ts FROM changes WHERE id = ?').get(changeId) as { external_id: string; ts: number } | undefined;
  const model = db.prepare('SELECT name, version FROM models WHERE id = ?').get(modelId) as { name: string; version: number } | undefined;
  const span = db.prepare('SELECT min(c.ts) AS lo, max(c.ts) AS hi, count(DISTINCT s.model_id) AS models FROM suggestions s JOIN changes c ON c.id = s.change_id WHERE s.run_id = ?').get(runId) as { lo: number | null; hi: number | null; models: number };
  const what = `${change ? change.external_id : `change ${changeId}`} by ${model ? `${model.name} v${model.version}` : `model ${modelId}`}`;
  if (span.lo === null) return `No suggestion for ${what} in run ${runId}: the run scored no changes`;
  const when = (t: number): string => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  const outside = change && (change.ts < span.lo || change.ts > span.hi!) ? ` (${change.external_id} is at ${when(change.ts)} UTC, outside it)` : '';
  return `No suggestion for ${what} in run ${runId}, which scored the changes from ${when(span.lo)} to ${when(span.hi!)} UTC${outside}`;
}

export function addFeedback(db: Db, input: FeedbackInput, defaultAuthor: string): Feedback {
  const parsed = FeedbackInput.safeParse(input);
  if (!parsed.success) throw new EngineFailure('bad_request', `Feedback is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'feedback'}: ${i.message}`).join('; ')}`);
  const f = parsed.data;
  const exists = db.prepare('SELECT 1 FROM suggestions WHERE run_id = ? AND model_id = ? AND change_id = ?').get(f.runId, f.modelId, f.changeId);
  // Feedback becomes training labels: a drill's answers come from inputs and outputs it falsified.
  const config = db.prepare('SELECT config FROM runs WHERE id = ?').pluck().get(f.runId) as string | undefined;
  const drill = config ? (JSON.parse(config) as { drill?: { baseRun: number } }).drill : undefined;
  if (exists && drill) throw new EngineFailure('conflict', `Run ${f.runId} is a drill: its suggestions were made under injected faults, and feedback becomes training labels; give feedback on its base run, ${drill.baseRun}`);
  if (!exists) throw new EngineFailure('not_found', noSuggestion(db, f.runId, f.modelId, f.changeId));
  // A reason is free text like any imported cell ("checked with ana@corp on 10.3.3.3"): scrubbed by
  // the workspace's rules before it is stored. An author the rules would redact (an e-mail) becomes
  // its keyed pseudonym, stable per person, so the stored row and its audit entry name the same one.
  const scrub = scrubberFor(db);
  const given = f.author ?? defaultAuthor;
  const author = scrub.text(given) === given ? given : scrub.person(given);
  const id = Number(db.prepare('INSERT INTO feedback (run_id, model_id, change_id, verdict, decision, reason, author, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(f.runId, f.modelId, f.changeId, f.verdict, f.decision === undefined ? null : f.decision === 'hold back' ? 1 : 0, scrub.text(f.reason), author, Date.now()).lastInsertRowid);
  return toFeedback(db.prepare('SELECT * FROM feedback WHERE id = ?').get(id) as Row);
}

export function listFeedback(db: Db, q: { runId?: number | undefined; modelId?: number | undefined; changeId?: number | undefined }): Feedback[] {
  const where: string[] = [];
  const args: number[] = [];
  if (q.runId !== undefined) { where.push('run_id = ?'); args.push(q.runId); }
  if (q.modelId !== undefined) { where.push('model_id = ?'); args.push(q.modelId); }
  if (q.changeId !== undefined) { where.push('change_id = ?'); args.push(q.changeId); }
  return (db.prepare(`SELECT * FROM feedback ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts, id`).all(...args) as Row[]).map(toFeedback);
}

/** Per model in a run: how often humans overruled it, and who was right when they did. */
export function feedbackSummary(db: Db, runId: number, modelId: number): FeedbackSummary {
  // The latest judgement per suggestion counts, as it does for training labels.
  const rows = db.prepare(`SELECT f.verdict, f.decision, s.decision AS model_decision, s.label FROM feedback f
    JOIN suggestions s ON s.run_id = f.run_id AND s.model_id = f.model_id AND s.change_id = f.change_id
    WHERE f.run_id = ? AND f.model_id = ? AND f.id = (SELECT max(id) FROM feedback g WHERE g.run_id = f.run_id AND g.model_id = f.model_id AND g.change_id = f.change_id)`).all(runId, modelId) as { verdict: string; decision: number | null; model_decision: number | null; label: number }[];
  const judged = rows.filter((r) => r.model_decision !== null);
  const humanDecision = (r: (typeof rows)[number]): number => (r.verdict === 'agree' ? r.model_decision! : r.verdict === 'disagree' ? 1 - r.model_decision! : r.decision!);
  const count = rows.length;
  return {
    modelId, count,
    agree: rows.filter((r) => r.verdict === 'agree').length,
    disagree: rows.filter((r) => r.verdict === 'disagree').length,
    override: rows.filter((r) => r.verdict === 'override').length,
    overrideRate: count ? rows.filter((r) => r.verdict !== 'agree').length / count : null,
    humansRightRate: judged.length ? judged.filter((r) => humanDecision(r) === r.label).length / judged.length : null,
    modelRightRate: judged.length ? judged.filter((r) => r.model_decision === r.label).length / judged.length : null,
  };
}
