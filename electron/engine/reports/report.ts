import type { Comparison, GateResult, GateSpec } from '../../../shared/contract/gates.js';
import { unfinishedReason } from '../../../shared/domain/run-state.js';
import type { FeedbackSummary, RunInfo, Scorecard, SuggestionDetail } from '../../../shared/contract/models.js';
import { feedbackSummary } from '../runs/feedback.js';
import { listDrillResults } from '../drills/drill.js';
import type { DrillReport } from '../../../shared/contract/drills.js';
import { contributionsOption, prOption, reliabilityOption, rocOption } from '../../../shared/charts/scorecard.js';
import { LIGHT } from '../../../shared/charts/theme.js';
import { PRESETS } from '../../../shared/gates/gate.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { compareModels, getChampion } from '../gates/compare.js';
import { checkGate, parseGate } from '../gates/gates.js';
import { getRun } from '../runs/replay-changes.js';
import { scorecard, suggestionDetail } from '../runs/scorecard.js';

/**
 * Run reports: one self-contained HTML file (no scripts, no network; charts are SVG rendered
 * server-side by echarts from the same option functions the UI uses) or a Markdown summary for a
 * pull-request comment. Both say what ran (manifest), how each model scored (with intervals),
 * how challengers compare with the champion, the gate verdicts, and the biggest misses and false
 * alarms with their explanations.
 */

export interface ReportData {
  run: RunInfo;
  cards: Scorecard[];
  championId: number | null;
  comparisons: Comparison[];
  gate: GateSpec;
  verdicts: GateResult[];
  misses: SuggestionDetail[];
  falseAlarms: SuggestionDetail[];
  feedback: FeedbackSummary[];
  /** drills of this run (or the drill this run is), newest first */
  drills: DrillReport[];
  /** the first and last scored change: the range a reader can check, whatever the config left open */
  span: { from: number; until: number } | null;
  generatedAt: number;
}

/** Metrics that depend on the decision threshold (the others rank, or score probabilities). */
const AT_THRESHOLD = new Set(['recall', 'precision', 'fpr', 'expected_cost']);

const KEY_METRICS = ['auc_roc', 'average_precision', 'recall', 'precision', 'fpr', 'brier', 'ece', 'capture_at_10', 'capture_at_20', 'expected_cost'];

/** Cheap progress and cancel for a report's steps; a report computed outside a job passes none. */
export interface Steps {
  throwIfCancelled(): void;
  progress(update: { fraction: number | null; message: string }): void;
}

export async function reportData(db: Db, input: { runId: number; gate?: GateSpec | undefined; championId?: number | null | undefined }, job?: Steps): Promise<ReportData> {
  const run = getRun(db, input.runId);
  const why = unfinishedReason(run, 'a report needs a finished run');
  if (why || !run.manifest) throw new EngineFailure('conflict', why ?? `Run ${run.id} has no manifest; a report needs a finished run`);
  const models = run.manifest.models;
  // Scorecards, comparisons and verdicts each bootstrap the whole run (seconds apiece on a year of
  // changes); the cases are quick. Progress counts those steps, and a cancel lands between them.
  const total = models.length * 3 + 1;
  let done = 0;
  const step = (message: string): void => {
    job?.throwIfCancelled();
    job?.progress({ fraction: done++ / total, message });
  };
  const cards: Scorecard[] = [];
  for (const m of models) {
    step(`scorecard of ${name(m)}`);
    cards.push(await scorecard(db, run.id, m.id));
  }
  const stored = input.championId === undefined ? getChampion(db) : input.championId;
  const championId = stored !== null && cards.some((c) => c.model.id === stored) ? stored : null;
  const challengers = cards.filter((c) => c.model.id !== championId);
  const comparisons: Comparison[] = [];
  for (const c of championId === null ? [] : challengers) {
    step(`comparing ${name(c.model)} with the champion`);
    comparisons.push(compareModels(db, { runId: run.id, championId: championId!, challengerId: c.model.id }));
  }
  done = models.length * 2;
  const gate = input.gate ?? parseGate(PRESETS.advisory);
  const verdicts: GateResult[] = [];
  // The gate is told the champion as asked (or the workspace's): one that did not run here leaves
  // "vs the champion" undecided instead of passing as if there were none.
  for (const c of challengers) {
    step(`gate "${gate.name}" on ${name(c.model)}`);
    verdicts.push(await checkGate(db, { runId: run.id, modelId: c.model.id, spec: gate, championId: input.championId === undefined ? stored : input.championId }));
  }
  done = models.length * 3;
  step('the biggest misses and false alarms, explained');
  // The biggest misses (incident-causing changes a model scored lowest) and false alarms (good
  // changes it scored highest), with their explanations: the cases a reviewer should read.
  const pick = (modelId: number, label: number, order: 'ASC' | 'DESC'): number[] =>
    db.prepare(`SELECT change_id FROM suggestions WHERE run_id = ? AND model_id = ? AND label = ? AND score IS NOT NULL AND fallback_model_id IS NULL ORDER BY score ${order}, change_id LIMIT 3`).pluck().all(run.id, modelId, label) as number[];
  const misses: SuggestionDetail[] = [];
  const falseAlarms: SuggestionDetail[] = [];
  for (const c of cards) {
    for (const id of pick(c.model.id, 1, 'ASC')) misses.push(await suggestionDetail(db, run.id, c.model.id, id));
    for (const id of pick(c.model.id, 0, 'DESC')) falseAlarms.push(await suggestionDetail(db, run.id, c.model.id, id));
  }
  const feedback = cards.map((c) => feedbackSummary(db, run.id, c.model.id));
  const span = db.prepare('SELECT min(c.ts) AS "from", max(c.ts) AS until FROM suggestions s JOIN changes c ON c.id = s.change_id WHERE s.run_id = ?').get(run.id) as { from: number | null; until: number | null };
  return {
    run, cards, championId, comparisons, gate, verdicts, misses, falseAlarms, feedback, drills: listDrillResults(db, run.id).slice(0, 10),
    span: span.from === null || span.until === null ? null : { from: span.from, until: span.until }, generatedAt: Date.now(),
  };
}

// echarts costs ~80 MB of memory once loaded: only reports load it, not every engine (an import of a
import { trainingOverlapSentence } from '../../../shared/domain/training-overlap.js';
import { warmUpSummary } from '../../../shared/drills/warm-up.js';
import { unattributedSentence } from '../../../shared/domain/unattributed.js';
import { fallbackSentence } from '../../../shared/domain/fallback.js';
import { MULTIPLE_METRICS_NOTE } from '../../../shared/metrics/compare.js';

/** The scorecards' training-window warnings, in the one wording the app and the CLI use. */
const leaks = (cards: readonly Scorecard[]): string[] => cards.map((c) => trainingOverlapSentence(c.model, c.n, c.trainingOverlap)).filter((l): l is string => l !== null);
// 5 GB file has a 300 MB budget).
let echarts: typeof import('echarts') | null = null;

/** Loads echarts for server-side rendering; renderHtml needs it loaded first. */
export async function loadCharts(): Promise<void> {
  echarts ??= await import('echarts');
}

/** An echarts option as an SVG string, rendered without a browser. */
export function svgChart(option: Record<string, unknown>, width = 520, height = 380): string {
  if (!echarts) throw new Error('svgChart: call loadCharts() first');
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? '—' : v.toFixed(d));
const iv = (m: { value: number | null; lo: number | null; hi: number | null } | undefined): string => (!m || m.value === null ? 'undefined' : `${num(m.value)} [${num(m.lo)}, ${num(m.hi)}]`);
const time = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
const name = (m: { name: string; version: number }): string => `${m.name} v${m.version}`;

/** The configured range, with the first and last change actually scored where the config left it open. */
function rangeText(d: ReportData): string {
  const from = d.run.config.from !== undefined ? time(d.run.config.from) : 'the first change';
  const until = d.run.config.until !== undefined ? time(d.run.config.until) : 'the last change';
  return `${from} → ${until}${d.span ? ` (scored changes ${time(d.span.from)} → ${time(d.span.until)} UTC)` : ''}`;
}

/** Incidents without a known cause in the scored period (the same for every model of a run). */
const unlinked = (d: ReportData): string | null => unattributedSentence(d.cards[0]?.incidentsWithoutCause ?? 0, d.run.manifest!.attribution.enabled);

/** How many changes a model's numbers rest on: with few incidents, no interval is given. */
const judgedOn = (c: Scorecard): string => `${c.n} changes, ${c.positives} caused incidents`;

/** Per model, the changes its fallback answered (left out of its numbers). */
const fallbackNotes = (d: ReportData): string[] => d.cards.flatMap((c) => {
  const t = fallbackSentence(c.answeredByFallback ?? 0);
  return t ? [`${name(c.model)}: ${t}`] : [];
});

/** How a change's outcome was decided (DESIGN.md §3: shown on every scorecard). */
function outcomeRule(a: { enabled: boolean; maxSeverity?: number; windowHours?: number }): string {
  return `the source's own outcome label where it has one; else a failure if a postmortem names the change as an incident's cause; attribution rule ${a.enabled ? `on: also a failure if a SEV ≤ ${a.maxSeverity} incident hit its service within ${a.windowHours} h after it` : 'off'}`;
}

function feedbackText(f: FeedbackSummary | undefined): string {
  if (!f || f.count === 0) return 'none';
  return `${f.count} (${f.agree} agree, ${f.disagree} disagree, ${f.override} override); humans right ${num(f.humansRightRate, 2)}, model right ${num(f.modelRightRate, 2)}`;
}

function feedbackRows(d: ReportData): string {
  return `<tr><th scope="row">human feedback</th>${d.cards.map((c) => `<td>${esc(feedbackText(d.feedback.find((f) => f.modelId === c.model.id)))}</td>`).join('')}</tr>`;
}

export function renderHtml(d: ReportData): string {
  const m = d.run.manifest!;
  const models = d.cards.map((c) => `<th>${esc(name(c.model))}${c.model.id === d.championId ? ' <span class="tag">champion</span>' : ''}</th>`).join('');
  const rows = `<tr><th scope="row">judged on</th>${d.cards.map((c) => `<td>${esc(judgedOn(c))}</td>`).join('')}</tr>`
    + `<tr><th scope="row">threshold</th>${d.cards.map((c) => `<td>${num(c.threshold)} <span class="muted nowrap">(cost-optimal ${num(c.costOptimalThreshold)})</span></td>`).join('')}</tr>`
    + KEY_METRICS.map((k) => `<tr><th scope="row">${k}${AT_THRESHOLD.has(k) ? ' <span class="muted">at the threshold</span>' : ''}</th>${d.cards.map((c) => `<td>${esc(iv(c.metrics[k]))}</td>`).join('')}</tr>`).join('');
  const ops = (['latency_p50_ms', 'latency_p99_ms', 'error_rate', 'fallback_rate', 'max_psi'] as const)
    .map((k) => `<tr><th scope="row">${k}</th>${d.cards.map((c) => `<td>${num(c.operations[k], k.startsWith('latency') ? 3 : 4)}${k === 'max_psi' && c.drift?.flag ? ' <strong class="verdict-fail">drift flag raised</strong>' : ''}</td>`).join('')}</tr>`).join('');
  const comparisons = d.comparisons.map((c) => `
    <h3>${esc(name(c.challenger))} vs champion ${esc(name(c.champion))}</h3>
    <p>${esc(c.summary)}. McNemar's exact test on the ${c.disagreementCount} changes they decide differently: champion alone right ${c.mcnemar.championOnlyRight}, challenger alone right ${c.mcnemar.challengerOnlyRight}, p = ${c.mcnemar.p.toPrecision(2)}.</p>
    <table><thead><tr><th>metric</th><th>champion</th><th>challenger</th><th>difference [95 %]</th><th>verdict</th></tr></thead><tbody>
    ${c.metrics.filter((x) => KEY_METRICS.includes(x.metric)).map((x) => `<tr><th scope="row">${x.metric}</th><td>${num(x.champion)}</td><td>${num(x.challenger)}</td><td>${esc(iv(x.difference))}</td><td class="v-${x.verdict.replace(/ /g, '-')}">${x.verdict}</td></tr>`).join('')}
    </tbody></table>`).join('');
  const verdicts = d.verdicts.map((v) => `
    <h3>${esc(name(v.model))}: <span class="verdict-${v.verdict}">${v.verdict.toUpperCase()}</span></h3>
    <ul>${v.criteria.map((c) => `<li class="verdict-${c.verdict}"><strong>${c.verdict}</strong> — ${esc(c.criterion)}: ${esc(c.reason)}</li>`).join('')}</ul>`).join('');
  const cases = (title: string, list: SuggestionDetail[]): string => `<h2>${title}</h2>${list.map((s) => {
    const model = d.cards.find((c) => c.model.id === s.modelId)!;
    const top = [...s.explanation.contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution)).slice(0, 6);
    return `<div class="case"><h3>${esc(s.externalId)} on ${esc(s.service)} at ${time(s.ts)} — ${esc(name(model.model))} scored ${num(s.score)}</h3>
      <p>What happened: ${s.outcome.label === 1 ? `caused ${esc(s.outcome.incident ?? 'an incident')}` : s.outcome.rolledBack ? 'rolled back, no incident' : 'nothing'}.
      ${s.mitigations.length ? `Suggested: ${s.mitigations.map((x) => esc(x.text)).join(' ')}` : ''}</p>
      ${s.explanation.note ? `<p class="muted">${esc(s.explanation.note)}</p>` : ''}
      ${top.length ? svgChart(contributionsOption(top, LIGHT, 6), 640, 220) : '<p class="muted">No explanation for this model.</p>'}</div>`;
  }).join('')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Shadowbench report — run ${d.run.id}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2933; max-width: 1100px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #e4e7eb; padding-bottom: 4px; } h3 { font-size: 14px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; font-size: 13px; }
th { color: #616e7c; font-weight: 600; } .muted { color: #616e7c; } .tag { font-size: 11px; background: #e0e9fb; color: #2563eb; padding: 1px 6px; border-radius: 8px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 12px; }
.verdict-pass, .v-better { color: #15803d; } .verdict-fail, .v-worse { color: #dc2626; } .verdict-inconclusive { color: #d97706; }
.nowrap { white-space: nowrap; }
.case { border: 1px solid #e4e7eb; border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
</style></head><body>
<h1>Shadowbench report — change-risk run ${d.run.id}</h1>
<p class="muted">Generated ${time(d.generatedAt)} UTC. Nothing here acted on anything: every model ran in shadow over recorded history.</p>
<h2>What ran</h2>
<table><tbody>
<tr><th scope="row">models</th><td>${m.models.map((x) => `${esc(name(x))} (sha256 ${esc(x.sha256.slice(0, 12))})`).join('<br>')}</td></tr>
<tr><th scope="row">changes</th><td>${m.subjects}; outcomes from ${Object.entries(m.outcomeSources).map(([k, v]) => `${v} ${esc(k)}`).join(', ')}</td></tr>
<tr><th scope="row">dataset fingerprint</th><td>${esc(m.datasetFingerprint)}</td></tr>
<tr><th scope="row">seed · code</th><td>${m.seed} · ${esc(m.codeVersion)}</td></tr>
<tr><th scope="row">range</th><td>${esc(rangeText(d))}</td></tr>
<tr><th scope="row">outcomes</th><td>${esc(outcomeRule(m.attribution))}${unlinked(d) ? `<br><span class="muted">${esc(unlinked(d)!)}</span>` : ''}${fallbackNotes(d).map((t) => `<br><span class="muted">${esc(t)}</span>`).join('')}</td></tr>
</tbody></table>
<h2>Scorecards <span class="muted">(95 % bootstrap intervals over changes)</span></h2>
${leaks(d.cards).map((l) => `<p class="verdict-fail">⚠ ${esc(l)}</p>`).join('')}
<table><thead><tr><th></th>${models}</tr></thead><tbody>${rows}${ops}${feedbackRows(d)}</tbody></table>
<p class="muted">cost-optimal threshold: the one with the least expected cost on these same changes, so its cost reads a little better than it would on the next ones.</p>
<p class="muted">latency: per suggestion, its share of the batch it was scored in (batch time ÷ rows), or what a prediction log recorded; batched scoring has no per-row tail.</p>
<p class="muted">max_psi: the largest population stability index of any input between the model's reference period and this run (under 0.1 stable, 0.1–0.25 moderate, over 0.25 drift).</p>
${d.cards.map((c) => (c.drift ? warmUpSummary(c.drift) : null)).filter((t): t is string => t !== null).slice(0, 1).map((t) => `<p class="muted">${esc(t)}</p>`).join('')}
<div class="charts">${svgChart(rocOption(d.cards, LIGHT))}${svgChart(prOption(d.cards, LIGHT))}${svgChart(reliabilityOption(d.cards, LIGHT))}</div>
<h2>Against the champion</h2>
${d.championId === null ? '<p class="muted">No champion in this run: set one to compare challengers with it.</p>' : `${comparisons}<p class="muted">${esc(MULTIPLE_METRICS_NOTE)}</p>`}
<h2>Gate: ${esc(d.gate.name)}</h2>
<p class="muted">${esc(d.gate.description)}</p>
${verdicts || '<p class="muted">No challengers to judge.</p>'}
${d.drills.length ? `<h2>Drills <span class="muted">(this run re-run under injected faults)</span></h2>${d.drills.map(drillHtml).join('')}` : ''}
${cases('Biggest misses (incident-causing changes scored lowest)', d.misses)}
${cases('Biggest false alarms (good changes scored highest)', d.falseAlarms)}
</body></html>
`;
}

function drillHtml(r: DrillReport): string {
  const faults = r.spec.perturbations.map((p) => `${p.kind} on ${'share' in p ? `${(100 * p.share).toFixed(0)} %` : ''}${'features' in p ? ` of ${p.features.join(', ')}` : ''}`).join('; ') || 'none (a no-op drill)';
  return `<h3>${esc(r.drill)}${r.drillVersion ? ` v${r.drillVersion}` : ''} — run ${r.drillRunId}, ${time(r.createdAt)}</h3>
    <p class="muted">Faults: ${esc(faults)}. Fallback: ${esc(String(r.spec.runner.fallback))}; missing inputs: ${esc(r.spec.runner.nanPolicy)}${r.spec.runner.timeoutMs !== undefined ? `; timeout ${r.spec.runner.timeoutMs} ms` : ''}.</p>
    <table><thead><tr><th>model</th><th>failed</th><th>fallback answered</th><th>no suggestion</th><th>unhandled</th><th>max PSI base → drill</th><th>drift flag</th><th>gate</th></tr></thead><tbody>
    ${r.models.map((m) => `<tr><th scope="row">${esc(name(m.model))}</th><td>${Object.values(m.failures).reduce((a, b) => a + b, 0)}</td><td>${m.answeredByFallback}</td><td>${m.noSuggestion}</td>
      <td class="${m.unhandled > 0 ? 'verdict-fail' : 'verdict-pass'}">${m.unhandled}</td><td>${num(m.drift.base?.maxPsi ?? null, 2)} → ${num(m.drift.drill?.maxPsi ?? null, 2)}</td>
      <td>${m.drift.drill?.flag ? 'raised' : '—'}</td><td>${m.gate ? `${m.gate.base} → ${m.gate.drill}` : '—'}</td></tr>`).join('')}
    </tbody></table>
    <ul>${r.summary.map((line) => `<li>${esc(line)}</li>`).join('')}</ul>`;
}

/** A Markdown summary for a pull-request comment: verdicts first, then the numbers. */
export function renderMarkdown(d: ReportData): string {
  const lines: string[] = [];
  lines.push(`### Shadowbench — change-risk run ${d.run.id}`, '', `${rangeText(d)}. Outcomes: ${outcomeRule(d.run.manifest!.attribution)}.${unlinked(d) ? ` ${unlinked(d)}` : ''}`, '');
  for (const l of leaks(d.cards)) lines.push(`> ⚠ ${l}`, '');
  for (const t of fallbackNotes(d)) lines.push(`> ${t}`, '');
  for (const v of d.verdicts) {
    const card = d.cards.find((c) => c.model.id === v.model.id);
    // A reader who sees only this line must see the drift flag beside a PASS.
    lines.push(`**${name(v.model)}**: gate “${v.gate}” → **${v.verdict.toUpperCase()}**${card?.drift?.flag ? ` · ⚠ drift flag raised (max PSI ${num(card.drift.maxPsi, 2)} on ${card.drift.worst ?? '—'})` : ''}`);
  }
  if (d.verdicts.length) lines.push('');
  lines.push(`| metric | ${d.cards.map((c) => `${name(c.model)}${c.model.id === d.championId ? ' (champion)' : ''}`).join(' | ')} |`);
  lines.push(`|---|${d.cards.map(() => '---').join('|')}|`);
  lines.push(`| judged on | ${d.cards.map(judgedOn).join(' | ')} |`);
  lines.push(`| threshold (cost-optimal) | ${d.cards.map((c) => `${num(c.threshold)} (${num(c.costOptimalThreshold)})`).join(' | ')} |`);
  for (const k of KEY_METRICS) lines.push(`| ${k}${AT_THRESHOLD.has(k) ? ' at the threshold' : ''} | ${d.cards.map((c) => iv(c.metrics[k])).join(' | ')} |`);
  lines.push(`| human feedback | ${d.cards.map((c) => feedbackText(d.feedback.find((f) => f.modelId === c.model.id))).join(' | ')} |`);
  lines.push(`| latency_p99_ms | ${d.cards.map((c) => num(c.operations.latency_p99_ms, 3)).join(' | ')} |`, `| error_rate | ${d.cards.map((c) => num(c.operations.error_rate, 4)).join(' | ')} |`,
    `| fallback_rate | ${d.cards.map((c) => num(c.operations.fallback_rate, 4)).join(' | ')} |`, `| max_psi | ${d.cards.map((c) => `${num(c.operations.max_psi, 2)}${c.drift?.flag ? ' (drift flag)' : ''}`).join(' | ')} |`, '');
  for (const c of d.comparisons) lines.push(`- ${c.summary}`);
  if (d.comparisons.length) lines.push('');
  for (const v of d.verdicts) {
    lines.push(`<details><summary>${name(v.model)}: ${v.criteria.length} criteria</summary>`, '', '| criterion | verdict | reason |', '|---|---|---|');
    for (const c of v.criteria) lines.push(`| ${c.criterion} | ${c.verdict} | ${c.reason.replace(/\|/g, '\\|')} |`);
    lines.push('', '</details>', '');
  }
  for (const r of d.drills.slice(0, 3)) {
    lines.push(`<details><summary>drill “${r.drill}” (run ${r.drillRunId}): ${r.models.reduce((a, m) => a + m.unhandled, 0)} unhandled failures</summary>`, '');
    for (const line of r.summary) lines.push(`- ${line}`);
    lines.push('', '</details>', '');
  }
  lines.push(`<sub>${d.run.manifest!.subjects} changes · dataset ${d.run.manifest!.datasetFingerprint.slice(0, 12)} · seed ${d.run.manifest!.seed} · 95 % bootstrap intervals</sub>`);
  return lines.join('\n') + '\n';
}

/** A run's report as a file: what the app downloads and the CLI writes. */
export async function renderReport(db: Db, input: { runId: number; format: 'html' | 'md'; gate?: GateSpec | undefined; championId?: number | null | undefined }, job?: Steps): Promise<{ fileName: string; content: string }> {
  const data = await reportData(db, input, job);
  job?.throwIfCancelled();
  job?.progress({ fraction: 0.97, message: input.format === 'html' ? 'drawing the charts' : 'writing' });
  if (input.format === 'html') await loadCharts();
  return { fileName: `shadowbench-run-${input.runId}.${input.format}`, content: input.format === 'html' ? renderHtml(data) : renderMarkdown(data) };
}
