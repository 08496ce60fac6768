import type { DetectionReport, DetectionScorecard, IncidentDetection } from '../../../shared/contract/detection.js';
import type { GateResult, GateSpec } from '../../../shared/contract/gates.js';
import { alertBudgetOption } from '../../../shared/charts/detection.js';
import { LIGHT } from '../../../shared/charts/theme.js';
import { matchingRules, NAB_RULES, unresolvedSentence } from '../../../shared/detection/rules.js';
import type { Db } from '../db/workspace.js';
import { incidentDetections, INCUMBENT } from '../detection/scorecard.js';
import { checkDetectionGate } from '../gates/detection-gate.js';
import { esc, loadCharts, svgChart, type Steps } from './report.js';
import { getModel } from '../models/registry.js';
import { canonicalize } from '../audit/audit.js';
import { createHash } from 'node:crypto';

/**
 * A detection run's report, as a file: the self-contained HTML page (the alert budget drawn as SVG,
 * nothing loaded from the network) or a Markdown summary for a pull request or a change ticket.
 * Every detector beside the imported alerts, each one's verdict against them, a gate's verdicts when
 * one is given, and the incidents nobody's detector caught.
 */

export interface DetectionReportData {
  report: DetectionReport;
  /** per incident id: a detector's page already open on its service when it began */
  paging: Record<string, { who: string; since: number }>;
  /** per detector id, what it is (its registry description: kind, metrics, window) */
  descriptions: Record<number, string>;
  /** the gate's criteria as canonical JSON's sha256, so a ticket can name the exact file judged by */
  gateSha256: string | null;
  incidents: IncidentDetection[];
  gate: GateSpec | null;
  verdicts: GateResult[];
  generatedAt: number;
}

const num = (v: number | null | undefined, d = 2): string => (v === null || v === undefined ? '—' : v.toFixed(d));
const iv = (m: { value: number | null; lo: number | null; hi: number | null }, d = 2): string => (m.value === null ? '—' : `${num(m.value, d)} [${num(m.lo, d)}, ${num(m.hi, d)}]`);
const time = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
const MISSED_SHOWN = 25;

/** The scorecard's rows, as the Detection page shows them (the same names, so the two read alike). */
const ROWS: Array<[string, (c: DetectionScorecard) => string]> = [
  ['threshold', (c) => (c.threshold === null ? 'as configured' : String(c.threshold))],
  ['alerts (pages)', (c) => (c.importedRows !== null && c.importedRows !== c.alerts ? `${c.alerts} (${c.importedRows} rows)` : String(c.alerts))],
  ['incident recall', (c) => iv(c.metrics.incident_recall, 3)],
  ['alert precision', (c) => iv(c.metrics.alert_precision, 3)],
  ['false alerts / day', (c) => iv(c.metrics.false_alerts_per_day)],
  ['lead vs humans, median (min)', (c) => iv(c.metrics.lead_vs_human_min.median, 1)],
  ['earlier / same minute / later / missed', (c) => { const l = c.metrics.lead_vs_human_min; return `${l.earlier} / ${l.same} / ${l.later} / ${l.missed}`; }],
  ['incidents in its warm-up', (c) => (c.warmUp ? `${c.warmUp.incidents}${c.warmUp.withoutTelemetry > 0 ? ` · ${c.warmUp.withoutTelemetry} on services without its metrics` : ''}` : '—')],
  ['MTTD, humans with its advice (min)', (c) => iv(c.metrics.mttd_min.humans_with_model, 1)],
  ['MTTD, humans alone (min)', (c) => iv(c.metrics.mttd_min.humans, 1)],
  ['MTTD, model, on those it caught (min)', (c) => iv(c.metrics.mttd_min.model, 1)],
  // Pooled recall can rise while the worst incidents are missed.
  ['recall by severity', (c) => c.recallBySeverity.map((x) => `SEV${x.severity} ${num(x.recall, 2)} (${x.incidents})`).join(', ') || '—'],
  ['NAB standard / low FP / low FN', (c) => (c.nab ? Object.values(c.nab).map((v) => num(v.score, 1)).join(' / ') : '—')],
  ['NAB at its best threshold', (c) => (c.nab ? Object.values(c.nab).map((v) => `${num(v.optimised.score, 1)} (at ${num(v.optimised.threshold, 2)})`).join(' / ') : '—')],
];

/** A time after `started`, as HH:MM on the same day and with the date otherwise (an alert may come the next day). */
const after = (t: number, started: number): string => (time(t).slice(0, 10) === time(started).slice(0, 10) ? time(t).slice(11) : time(t));

/** Incidents that no detector of the run caught (the imported alerts aside), most severe first. */
function missedByAll(d: DetectionReportData): IncidentDetection[] {
  const detectors = d.report.scorecards.filter((c) => c.modelId !== null).map((c) => c.name);
  return d.incidents.filter((i) => detectors.every((n) => (i.detections[n]?.at ?? null) === null))
    .sort((a, b) => a.severity - b.severity || a.started - b.started);
}

function rangeText(d: DetectionReportData): string {
  const r = d.report.run;
  return `${r.from !== null ? time(r.from) : '—'} → ${r.until !== null ? time(r.until) : '—'} UTC, ${r.points.toLocaleString('en-US')} points${r.config.services?.length ? ` on ${r.config.services.join(', ')}` : ''}`;
}

export async function detectionReportData(db: Db, input: { runId: number; gate?: GateSpec | undefined }, report: () => Promise<DetectionReport>, job?: Steps): Promise<DetectionReportData> {
  job?.progress({ fraction: 0.05, message: 'scoring the detectors and the imported alerts' });
  const data = await report();
  job?.throwIfCancelled();
  job?.progress({ fraction: 0.6, message: 'matching incidents' });
  const incidents = incidentDetections(db, input.runId);
  const verdicts: GateResult[] = [];
  if (input.gate) {
    for (const [k, m] of data.run.models.entries()) {
      job?.throwIfCancelled();
      job?.progress({ fraction: 0.65 + (0.3 * k) / data.run.models.length, message: `gate "${input.gate.name}" for ${m.name}` });
      verdicts.push(checkDetectionGate(db, { runId: input.runId, modelId: m.id, spec: input.gate }));
    }
  }
  // For incidents every detector missed: a page already open on the service when it began (a
  // detector's alert that started earlier and was still firing). The matching rule counts an alert
  // from when it starts (otherwise one that never stops would catch everything), so these read as
  // misses; the report says a page was open, so nobody reads them as silence.
  const open = db.prepare(`SELECT m.name || ' v' || m.version AS who, min(a.start_ts) AS since FROM detection_alerts a JOIN models m ON m.id = a.model_id JOIN services s ON s.id = a.service_id
    WHERE a.run_id = ? AND s.name = ? AND a.start_ts < ? AND a.end_ts >= ? GROUP BY m.id ORDER BY since LIMIT 1`);
  const paging: Record<string, { who: string; since: number }> = {};
  for (const i of incidents) {
    const hit = open.get(input.runId, i.service, i.started, i.started) as { who: string; since: number } | undefined;
    if (hit) paging[i.incident] = hit;
  }
  const descriptions = Object.fromEntries(data.run.models.map((m) => [m.id, getModel(db, m.id).description]));
  const gateSha256 = input.gate ? createHash('sha256').update(canonicalize(input.gate) ?? '').digest('hex') : null;
  return { report: data, incidents, paging, descriptions, gateSha256, gate: input.gate ?? null, verdicts, generatedAt: Date.now() };
}

export function renderDetectionHtml(d: DetectionReportData): string {
  const { run, scorecards, comparisons } = d.report;
  const missed = missedByAll(d);
  const head = scorecards.map((c) => `<th>${esc(c.name)}${c.modelId === null ? ' <span class="tag">today</span>' : ''}</th>`).join('');
  const rows = ROWS.map(([label, cell]) => `<tr><th scope="row">${esc(label)}</th>${scorecards.map((c) => `<td>${esc(cell(c))}</td>`).join('')}</tr>`).join('');
  const verdicts = d.verdicts.map((v) => `
    <h3>${esc(`${v.model.name} v${v.model.version}`)}: <span class="verdict-${v.verdict}">${v.verdict.toUpperCase()}</span></h3>
    <ul>${v.criteria.map((c) => `<li class="verdict-${c.verdict}"><strong>${c.verdict}</strong> — ${esc(c.criterion)}: ${esc(c.reason)}</li>`).join('')}</ul>`).join('');
  // Drift needs at least 30 points of each series before the run's range to compare with.
  const drift = run.drift ? `max PSI ${num(run.drift.maxPsi)}${run.drift.worst ? ` on ${run.drift.worst}` : ''} against the history before the run${run.drift.flag ? ' — drift flag raised' : ''}` : 'not measured: no telemetry before the run\'s range to compare with (start a run after the first telemetry to see it)';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Shadowbench report — detection run ${run.id}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2933; max-width: 1100px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #e4e7eb; padding-bottom: 4px; } h3 { font-size: 14px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; font-size: 13px; }
th { color: #616e7c; font-weight: 600; } .muted { color: #616e7c; } .tag { font-size: 11px; background: #e0e9fb; color: #2563eb; padding: 1px 6px; border-radius: 8px; }
.verdict-pass, .verdict-earlier { color: #15803d; } .verdict-fail, .verdict-later { color: #dc2626; } .verdict-inconclusive, .verdict-tradeoff { color: #d97706; }
</style></head><body>
<h1>Shadowbench report — detection run ${run.id}${run.config.drill ? ` (drill "${esc(run.config.drill.name)}" of detection run ${run.config.drill.baseRun})` : ''}</h1>
<p class="muted">Generated ${time(d.generatedAt)} UTC. Nothing here paged anyone: every detector ran in shadow over recorded telemetry, and its alerts are compared with the incidents and with the alerts the team had (${esc(INCUMBENT)}).</p>
<h2>What ran</h2>
<table><tbody>
<tr><th scope="row">detectors</th><td>${run.models.map((m) => `${esc(`${m.name} v${m.version}`)}, threshold ${m.threshold} (sha256 ${esc(m.sha256.slice(0, 12))})${d.descriptions[m.id] ? `<br><span class="muted">${esc(d.descriptions[m.id]!)}</span>` : ''}`).join('<br>')}</td></tr>
<tr><th scope="row">range</th><td>${esc(rangeText(d))}</td></tr>
<tr><th scope="row">incidents</th><td>${scorecards[0]?.incidents ?? 0} over ${num(scorecards[0]?.days, 1)} days</td></tr>
<tr><th scope="row">matching</th><td>${esc(matchingRules(run.config))}${unresolvedSentence(d.report.unresolvedIncidents) ? `<br><span class="verdict-inconclusive">${esc(unresolvedSentence(d.report.unresolvedIncidents)!)}</span>` : ''}</td></tr>
<tr><th scope="row">input drift</th><td>${esc(drift)}</td></tr>
<tr><th scope="row">seed</th><td>${run.config.seed}</td></tr>
</tbody></table>
<h2>Scorecards <span class="muted">(95 % bootstrap intervals)</span></h2>
<table><thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody></table>
<p class="muted">${esc(NAB_RULES)}</p>
<h2>Against the imported alerts</h2>
<ul>${comparisons.map((c) => `<li class="verdict-${c.verdict === 'earlier' && c.tradeOffs.length > 0 ? 'tradeoff' : c.verdict.replace(/ /g, '-')}">${esc(c.summary)}</li>`).join('')}</ul>
${svgChart(alertBudgetOption(scorecards, LIGHT), 760, 380)}
<h2>${d.gate ? `Gate: ${esc(d.gate.name)}` : 'Gate'}</h2>
${d.gate ? `<p class="muted">${esc(d.gate.description)}${d.gate.description ? ' ' : ''}Criteria sha256 ${d.gateSha256!.slice(0, 16)}.</p>${verdicts}` : '<p class="muted">No gate was given (report --gate FILE, or the gate in the Detection page\'s editor).</p>'}
<h2>Missed by every detector <span class="muted">(${missed.length} of ${d.incidents.length} incidents)</span></h2>
${missed.length === 0 ? '<p class="muted">None: every incident was caught by at least one detector.</p>' : `<table><thead><tr><th>incident</th><th>service</th><th>severity</th><th>started (UTC)</th><th>humans noticed</th><th>${esc(INCUMBENT)}</th><th>a page already open</th><th>title</th></tr></thead><tbody>
${missed.slice(0, MISSED_SHOWN).map((i) => `<tr><td>${esc(i.incident)}</td><td>${esc(i.service)}</td><td>SEV${i.severity}</td><td>${time(i.started)}</td><td>${i.detectedByHumans !== null ? after(i.detectedByHumans, i.started) : '—'}</td><td>${i.detections[INCUMBENT]?.at ? after(i.detections[INCUMBENT].at, i.started) : 'missed'}</td><td>${d.paging[i.incident] ? esc(`${d.paging[i.incident]!.who} since ${after(d.paging[i.incident]!.since, i.started)}`) : '—'}</td><td>${esc(i.title ?? '')}</td></tr>`).join('')}
</tbody></table>${missed.length > MISSED_SHOWN ? `<p class="muted">and ${missed.length - MISSED_SHOWN} more.</p>` : ''}
<p class="muted">An alert detects an incident if it starts in the incident's window; one that began earlier and was still firing does not count (else a detector that never stops firing would catch everything). "A page already open" names such an alert.</p>`}
</body></html>
`;
}

/** A Markdown summary: verdicts first, then the numbers. */
export function renderDetectionMarkdown(d: DetectionReportData): string {
  const { run, scorecards, comparisons } = d.report;
  const lines: string[] = [`### Shadowbench — detection run ${run.id}${run.config.drill ? ` (drill “${run.config.drill.name}”)` : ''}`, '', `${rangeText(d)}; ${scorecards[0]?.incidents ?? 0} incidents. ${matchingRules(run.config)}`, ''];
  const open = unresolvedSentence(d.report.unresolvedIncidents);
  if (open) lines.push(`> ${open}`, '');
  if (run.drift?.flag) lines.push(`> ⚠ input drift flag raised (max PSI ${num(run.drift.maxPsi)} on ${run.drift.worst ?? '—'})`, '');
  for (const v of d.verdicts) lines.push(`**${v.model.name} v${v.model.version}**: gate “${v.gate}” → **${v.verdict.toUpperCase()}**`);
  if (d.verdicts.length) lines.push('');
  lines.push(`| | ${scorecards.map((c) => c.name).join(' | ')} |`, `|---|${scorecards.map(() => '---').join('|')}|`);
  for (const [label, cell] of ROWS) lines.push(`| ${label} | ${scorecards.map((c) => cell(c).replace(/\|/g, '\\|')).join(' | ')} |`);
  lines.push('');
  for (const c of comparisons) lines.push(`- ${c.summary}`);
  if (comparisons.length) lines.push('');
  for (const v of d.verdicts) {
    lines.push(`<details><summary>${v.model.name} v${v.model.version}: ${v.criteria.length} criteria</summary>`, '', '| criterion | verdict | reason |', '|---|---|---|');
    for (const c of v.criteria) lines.push(`| ${c.criterion} | ${c.verdict} | ${c.reason.replace(/\|/g, '\\|')} |`);
    lines.push('', '</details>', '');
  }
  const missed = missedByAll(d);
  if (missed.length > 0) {
    lines.push(`<details><summary>${missed.length} of ${d.incidents.length} incidents missed by every detector</summary>`, '', `| incident | service | severity | started (UTC) | humans noticed | ${INCUMBENT} | a page already open |`, '|---|---|---|---|---|---|---|');
    const cell = (t: string): string => t.replace(/\|/g, '\\|');
    for (const i of missed.slice(0, MISSED_SHOWN)) lines.push(`| ${cell(i.incident)} | ${cell(i.service)} | SEV${i.severity} | ${time(i.started)} | ${i.detectedByHumans !== null ? after(i.detectedByHumans, i.started) : '—'} | ${i.detections[INCUMBENT]?.at ? after(i.detections[INCUMBENT].at, i.started) : 'missed'} | ${d.paging[i.incident] ? `${d.paging[i.incident]!.who} since ${after(d.paging[i.incident]!.since, i.started)}` : '—'} |`);
    if (missed.length > MISSED_SHOWN) lines.push('', `and ${missed.length - MISSED_SHOWN} more.`);
    lines.push('', '</details>', '');
  }
  lines.push(`<sub>${missed.length} of ${d.incidents.length} incidents missed by every detector · input drift ${run.drift ? `max PSI ${num(run.drift.maxPsi)}` : 'not measured (no history before the run)'} · ${d.gateSha256 ? `gate criteria sha256 ${d.gateSha256.slice(0, 16)} · ` : ''}seed ${run.config.seed} · 95 % bootstrap intervals</sub>`);
  return lines.join('\n') + '\n';
}

export async function renderDetectionReport(db: Db, input: { runId: number; format: 'html' | 'md'; gate?: GateSpec | undefined }, report: () => Promise<DetectionReport>, job?: Steps): Promise<{ fileName: string; content: string }> {
  const data = await detectionReportData(db, input, report, job);
  job?.throwIfCancelled();
  job?.progress({ fraction: 0.97, message: input.format === 'html' ? 'drawing the chart' : 'writing' });
  if (input.format === 'html') await loadCharts();
  return { fileName: `shadowbench-detection-run-${input.runId}.${input.format}`, content: input.format === 'html' ? renderDetectionHtml(data) : renderDetectionMarkdown(data) };
}
