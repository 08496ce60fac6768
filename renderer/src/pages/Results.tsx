import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Empty } from '../components/Empty.js';
import type { Scorecard, Suggestion, SuggestionDetail } from '../../../shared/contract/models.js';
import { contributionsOption, legendRows, prOption, reliabilityOption, rocOption, sweepOption } from '../../../shared/charts/scorecard.js';
import { DARK, LIGHT } from '../../../shared/charts/theme.js';
import { warmUpSummary } from '../../../shared/drills/warm-up.js';
import { trainingOverlapSentence } from '../../../shared/domain/training-overlap.js';
import { unattributedSentence } from '../../../shared/domain/unattributed.js';
import { fallbackSentence } from '../../../shared/domain/fallback.js';
import { Chart } from '../components/Chart.js';
import { VirtualTable, type Column } from '../components/VirtualTable.js';
import { fmtInt, fmtTime, runName } from '../format.js';
import { useStore } from '../store.js';

const f3 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));

const METRICS: Array<{ key: string; label: string; better: 'high' | 'low'; help: string }> = [
  { key: 'auc_roc', label: 'AUC', better: 'high', help: 'how well the scores rank failing changes above good ones (0.5 = chance)' },
  { key: 'average_precision', label: 'Avg precision', better: 'high', help: 'precision averaged over every recall level' },
  { key: 'recall', label: 'Recall', better: 'high', help: 'share of incident-causing changes it would have held back' },
  { key: 'precision', label: 'Precision', better: 'high', help: 'share of held-back changes that really would have failed' },
  { key: 'fpr', label: 'Good changes held', better: 'low', help: 'share of good changes it would have held back' },
  { key: 'capture_at_10', label: 'Capture @10 %', better: 'high', help: 'recall when gating the riskiest 10 % of changes' },
  { key: 'brier', label: 'Brier', better: 'low', help: 'mean squared error of the risk as a probability' },
  { key: 'ece', label: 'ECE', better: 'low', help: 'calibration error over 10 bins' },
  { key: 'expected_cost', label: 'Cost / change', better: 'low', help: 'missed incidents × 20 + delayed good changes × 1, per change' },
];

/** Point values at any threshold, read instantly from the sweep; intervals follow from the engine. */
function atThreshold(card: Scorecard, t: number) {
  const points = [...card.sweep].sort((a, b) => a.threshold - b.threshold);
  return points.find((p) => p.threshold >= t) ?? points[points.length - 1];
}

function ScorecardPanel({ card, threshold, onThreshold, selected, onSelect, role }: { card: Scorecard; threshold: number; onThreshold: (t: number) => void; selected: boolean; onSelect: () => void; role: 'champion' | 'challenger' | null }) {
  const instant = atThreshold(card, threshold);
  const live: Record<string, number | null | undefined> = { recall: instant?.recall, precision: instant?.precision, fpr: instant?.fpr, expected_cost: instant?.expected_cost };
  const warmUp = card.drift ? warmUpSummary(card.drift) : null;
  // A flag raised only by features still warming up (counts over windows longer than the history
  // so far) is real for the model but no news about the world: amber, not the red of drift.
  const warmUpOnly = card.drift?.flag === true && card.drift.features.filter((f) => f.band === 'drift').every((f) => f.warmUp !== null);
  const leak = trainingOverlapSentence(card.model, card.n, card.trainingOverlap);
  const unlinked = unattributedSentence(card.incidentsWithoutCause ?? 0, card.attribution.enabled);
  const fallback = fallbackSentence(card.answeredByFallback ?? 0);
  return (
    <div className={`scorecard${selected ? ' selected' : ''}`} data-testid={`scorecard-${card.model.name}`} onClick={onSelect}>
      <div className="scorecard-head">
        <button type="button" className="link scorecard-name" aria-pressed={selected} onClick={onSelect}>{card.model.name} v{card.model.version}</button>
        {role && <span className={`badge role-${role}`} data-testid={`card-role-${card.model.name}`}>{role}</span>}
        <span className="muted small">{fmtInt(card.n)} changes · {fmtInt(card.positives)} caused incidents</span>
      </div>
      {leak && <p className="small verdict-fail" data-testid="training-overlap">⚠ {leak}</p>}
      {unlinked && <p className="small muted" data-testid="incidents-without-cause">{unlinked}</p>}
      {fallback && <p className="small muted" data-testid="answered-by-fallback">{fallback}</p>}
      <label className="slider" onClick={(e) => e.stopPropagation()}>
        threshold <input type="range" min={0} max={1} step={0.005} value={threshold} onChange={(e) => onThreshold(Number(e.target.value))} data-testid={`threshold-${card.model.name}`}
          aria-label={`${card.model.name} threshold`} aria-valuetext={threshold.toFixed(3)} />
        <span className="num">{threshold.toFixed(3)}</span>
      </label>
      <table className="metrics">
        <tbody>
          {METRICS.map((m) => {
            const iv = card.metrics[m.key];
            // While the slider moves, the threshold-bound metrics come from the nearest sweep point
            // (marked ≈) until the engine answers with the exact value and its interval.
            const approx = m.key in live && Math.abs(card.threshold - threshold) > 1e-9;
            const shown = approx ? live[m.key] : iv?.value;
            return (
              <tr key={m.key} title={m.help}>
                <th>{m.label}</th>
                <td className="num">{approx && <span className="muted" title="from the nearest point of the threshold sweep; the exact value follows">≈ </span>}<span data-metric={m.key}>{f3(shown)}</span></td>
                <td className="num muted small">{iv && iv.lo !== null && Math.abs(card.threshold - threshold) < 1e-9 ? `[${f3(iv.lo)}, ${f3(iv.hi)}]` : m.key in live ? '…' : iv && iv.lo !== null ? `[${f3(iv.lo)}, ${f3(iv.hi)}]` : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted small"><span title="Chosen on these same changes, so the cost at it reads a little better than it would on the next ones">Cost-optimal threshold {f3(card.costOptimalThreshold)}</span> · <span title="Per suggestion: its share of the batch it was scored in (batch time ÷ rows), or the latency a prediction log recorded; with batching there is no per-row tail">p99 latency {f3(card.operations.latency_p99_ms)} ms</span> · errors {(card.operations.error_rate * 100).toFixed(1)} % · fallbacks {(card.operations.fallback_rate * 100).toFixed(1)} %</p>
      {card.drift && (
        <p className={`small ${card.drift.flag ? (warmUpOnly ? 'verdict-inconclusive' : 'verdict-fail') : 'muted'}`} data-testid="drift-flag" title={`PSI of each input against ${card.drift.reference}; 0.1-0.25 moderate, 0.25+ drift`}>
          {card.drift.flag ? (warmUpOnly ? '⚠ Drift flag, from the history warming up: ' : '⚠ Drift flag: ') : 'Inputs stable: '}max PSI {f3(card.drift.maxPsi)} on {card.drift.worst ?? '—'}
          {card.drift.flag ? ` (${card.drift.features.filter((f) => f.band === 'drift').length} of ${card.drift.features.length} features past 0.25)` : ''}
        </p>
      )}
      {warmUp && <details className="muted small" data-testid="drift-warm-up"><summary>Why some inputs moved: the history filling up</summary>{warmUp}</details>}
    </div>
  );
}

function OutcomeBadge({ s }: { s: Suggestion }) {
  if (s.outcome.label === 1) return <span className="badge badge-refused">incident{s.outcome.incident ? ` ${s.outcome.incident}` : ''}</span>;
  if (s.outcome.rolledBack) return <span className="badge badge-warn">rolled back</span>;
  return <span className="badge">nothing</span>;
}

/** Agree, disagree or override, with a reason: it sits beside the suggestion and never changes it. */
function FeedbackForm({ detail, onSaved }: { detail: SuggestionDetail; onSaved: (d: SuggestionDetail) => void }) {
  const { client, fail } = useStore();
  const [verdict, setVerdict] = useState<'agree' | 'disagree' | 'override'>('agree');
  const [decision, setDecision] = useState<'hold back' | 'let through'>(detail.decision ? 'let through' : 'hold back');
  const [reason, setReason] = useState('');
  const [author, setAuthor] = useState(() => localStorage.getItem('shadowbench.author') ?? '');
  // Feedback becomes a training label (the engine's feedbackLabels): hold back 1, let through 0.
  // One that contradicts what happened (letting through a change that caused an incident) is asked twice.
  const implied = verdict === 'override' ? (decision === 'hold back' ? 1 : 0) : detail.decision === null ? null : verdict === 'agree' ? Number(detail.decision) : 1 - Number(detail.decision);
  const contradicts = implied !== null && implied !== detail.outcome.label;
  const [confirmed, setConfirmed] = useState(false);
  const submit = async (): Promise<void> => {
    if (!client) return;
    try {
      if (author) localStorage.setItem('shadowbench.author', author);
      await client.call('feedback.add', { runId: detail.runId, modelId: detail.modelId, changeId: detail.changeId, verdict, reason, ...(verdict === 'override' ? { decision } : {}), ...(author ? { author } : {}) });
      onSaved(await client.call('suggestions.get', { runId: detail.runId, modelId: detail.modelId, changeId: detail.changeId }));
      setReason('');
      setConfirmed(false);
    } catch (err) {
      fail(err);
    }
  };
  return (
    <form className="feedback-form" onSubmit={(e) => { e.preventDefault(); void submit(); }} data-testid="feedback-form">
      <div className="form-row">
        {(['agree', 'disagree', 'override'] as const).map((v) => (
          <label key={v} className="checkbox"><input type="radio" name="verdict" checked={verdict === v} onChange={() => setVerdict(v)} data-testid={`feedback-${v}`} /> {v}</label>
        ))}
        {verdict === 'override' && (
          <select value={decision} onChange={(e) => setDecision(e.target.value as 'hold back' | 'let through')} aria-label="your decision">
            <option value="hold back">hold back</option>
            <option value="let through">let through</option>
          </select>
        )}
      </div>
      {contradicts && (
        <label className="checkbox small verdict-inconclusive" data-testid="feedback-contradicts">
          <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
          {detail.outcome.label === 1
            ? `This change caused ${detail.outcome.incident ?? 'an incident'}; this feedback says it should have been let through. Retraining takes feedback as the label over the outcome. Confirm, or correct the incident's cause instead.`
            : 'No incident followed this change; this feedback says it should have been held back, and retraining will learn it as a failure. Confirm.'}
        </label>
      )}
      <textarea value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Why? (required)" rows={2} aria-label="reason" data-testid="feedback-reason" />
      <div className="form-row">
        <input value={author} onChange={(e) => setAuthor(e.target.value)} placeholder="your name (default: the OS user)" aria-label="author" className="grow" />
        <button className="primary" disabled={reason.trim().length < 3 || (contradicts && !confirmed)} data-testid="feedback-submit">Add feedback</button>
      </div>
    </form>
  );
}

function Drawer({ detail: initial, onClose, drillOf }: { detail: SuggestionDetail; onClose: () => void; drillOf: number | null }) {
  const theme = useStore((s) => s.theme);
  const [detail, setDetail] = useState(initial);
  useEffect(() => setDetail(initial), [initial]);
  const option = useMemo(() => contributionsOption(detail.explanation.contributions, theme === 'dark' ? DARK : LIGHT), [detail, theme]);
  const panel = useRef<HTMLDivElement>(null);
  // Focus goes into the drawer when it opens and back to what opened it (the row) when it closes.
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    panel.current?.focus();
    return () => opener?.focus();
  }, []);
  return (
    <div className="drawer" data-testid="suggestion-drawer" role="dialog" aria-labelledby="drawer-title" tabIndex={-1} ref={panel}
      onKeyDown={(e) => { if (e.key === 'Escape') { e.stopPropagation(); onClose(); } }}>
      <div className="drawer-head">
        <h2 id="drawer-title">Change {detail.externalId}</h2>
        <button className="link" onClick={onClose} aria-label="Close (Escape)">Close</button>
      </div>
      <p className="muted">{detail.service} · {fmtTime(detail.ts)} UTC</p>
      <div className="drawer-score">
        <div><span className="muted small">risk</span><strong data-testid="drawer-score">{f3(detail.score)}</strong></div>
        <div><span className="muted small">suggestion</span><strong>{detail.decision === null ? 'no answer' : detail.decision ? 'hold back' : 'let through'}</strong></div>
        <div><span className="muted small">what happened</span><OutcomeBadge s={detail} /></div>
      </div>
      {detail.error && <p className="error-text small">{detail.error}{detail.fallback ? ' — the fallback model answered' : ''}</p>}
      <h3>Why</h3>
      <p className="muted small">
        {EXPLANATION_METHOD[detail.explanation.method]} against a typical change
        (risk {f3(detail.explanation.reference)}); they sum to the difference.
      </p>
      {detail.explanation.note && <p className="small verdict-inconclusive" data-testid="explanation-note">{detail.explanation.note}</p>}
      {detail.explanation.contributions.length > 0 && <Chart option={option} height={Math.min(10, detail.explanation.contributions.length) * 26 + 40} testId="explanation-chart" />}
      <h3>Suggested mitigations</h3>
      {detail.mitigations.length === 0 ? <p className="muted small">Nothing raised this change's risk much.</p> : (
        <ul className="mitigations" data-testid="mitigations">{detail.mitigations.map((m) => <li key={m.feature}><strong>{m.feature}</strong>: {m.text}</li>)}</ul>
      )}
      <h3>Feedback</h3>
      {detail.feedback.length > 0 && (
        <ul className="plain" data-testid="feedback-list">
          {detail.feedback.map((f) => <li key={f.id}><strong>{f.verdict}{f.decision ? `: ${f.decision}` : ''}</strong> — {f.reason} <span className="muted small">{f.author}, {fmtTime(f.ts)}</span></li>)}
        </ul>
      )}
      {drillOf === null ? <FeedbackForm detail={detail} onSaved={setDetail} />
        : <p className="muted small" data-testid="feedback-drill">This run is a drill: its answers were made under injected faults, and feedback becomes training labels. Give feedback on its base run, {drillOf}.</p>}
    </div>
  );
}

const EXPLANATION_METHOD: Record<SuggestionDetail['explanation']['method'], string> = {
  'exact-shapley': 'Exact Shapley values (every combination of features scored)',
  'exact-linear': 'Log-odds contributions rescaled to the score',
  'sampled-shapley': 'Shapley values estimated from 32 sampled orderings of the features',
  none: 'No explanation',
};

const VIEW_LABEL = { held: 'Held back', missed: 'Missed incidents', 'false-alarms': 'False alarms' } as const;
const VIEW_TITLE = {
  held: (m: string) => `What ${m} would have held back`,
  missed: (m: string) => `Incident-causing changes ${m} would have let through`,
  'false-alarms': (m: string) => `Good changes ${m} would have held back`,
} as const;
const VIEW_HELP = {
  held: 'Changes scoring at or above the threshold, riskiest first, with what really happened.',
  missed: 'Changes that caused an incident but score below the threshold (or that the model failed on): the costliest mistakes, nearest misses first.',
  'false-alarms': 'Changes that caused no incident but score at or above the threshold: the deploys it would have delayed for nothing.',
} as const;

export function Results() {
  const { runs, selectedRunId, client, theme, openRun, fail, championId, navigate } = useStore();
  // Unless one was chosen: the newest finished run that is not a drill (a drill's faulted numbers are not the model's).
  const run = runs.find((r) => r.id === selectedRunId) ?? runs.find((r) => r.state === 'done' && !r.config.drill) ?? runs.find((r) => r.state === 'done');
  const [cards, setCards] = useState<Scorecard[]>([]);
  const [thresholds, setThresholds] = useState<Record<number, number>>({});
  const [selectedModel, setSelectedModel] = useState<number | null>(null);
  const [detail, setDetail] = useState<SuggestionDetail | null>(null);
  const chartTheme = theme === 'dark' ? DARK : LIGHT;

  useEffect(() => {
    if (!client || !run || run.state !== 'done') return;
    let stale = false;
    void Promise.all(run.config.models.map((modelId) => client.call('runs.scorecard', { runId: run.id, modelId })))
      .then((c) => {
        if (stale) return;
        setCards(c);
        setThresholds(Object.fromEntries(c.map((x) => [x.model.id, x.threshold])));
        setSelectedModel(c[0]?.model.id ?? null);
        setDetail(null);
      })
      .catch(fail);
    return () => {
      stale = true;
    };
  }, [client, run, fail]);

  // Intervals at a new threshold come from the engine once the slider rests.
  useEffect(() => {
    if (!client || !run) return;
    const changed = cards.filter((c) => thresholds[c.model.id] !== undefined && Math.abs(thresholds[c.model.id]! - c.threshold) > 1e-9);
    if (changed.length === 0) return;
    const timer = setTimeout(() => {
      void Promise.all(changed.map((c) => client.call('runs.scorecard', { runId: run.id, modelId: c.model.id, threshold: thresholds[c.model.id]! })))
        .then((updated) => setCards((prev) => prev.map((c) => updated.find((u) => u.model.id === c.model.id) ?? c)))
        .catch(fail);
    }, 300);
    return () => clearTimeout(timer);
  }, [thresholds, cards, client, run, fail]);

  const selected = cards.find((c) => c.model.id === selectedModel) ?? cards[0];
  // Which changes the table lists: what the model holds back, or its two kinds of mistake.
  const [view, setView] = useState<'held' | 'missed' | 'false-alarms'>('held');
  const fetchPage = useCallback((offset: number, limit: number) => {
    const t = thresholds[selected!.model.id] ?? selected!.threshold;
    const base = { runId: run!.id, modelId: selected!.model.id, offset, limit };
    return client!.call('runs.suggestions', view === 'held' ? { ...base, minScore: t } : view === 'missed' ? { ...base, belowScore: t, label: 1 } : { ...base, minScore: t, label: 0 });
  }, [client, run, selected, thresholds, view]);
  const columns = useMemo<Column<Suggestion>[]>(() => [
    { key: 'risk', title: 'Risk', width: 70, align: 'right', render: (s) => f3(s.score) },
    { key: 'id', title: 'Change', width: 120, render: (s) => s.externalId },
    { key: 'service', title: 'Service', width: 130, render: (s) => s.service },
    { key: 'time', title: 'Time (UTC)', width: 140, render: (s) => fmtTime(s.ts) },
    { key: 'outcome', title: 'What happened', width: 170, render: (s) => <OutcomeBadge s={s} /> },
    { key: 'note', title: '', width: 160, render: (s) => (s.error ? <span className="error-text small">{s.fallback ? 'fallback answered' : 'model failed'}</span> : '') },
  ], []);

  if (!run) return <Empty text="No finished change-risk run yet: results appear here once one has run." page="runs" action="Start a run" />;
  const m = run.manifest;
  // Room for every model's legend entry below the plots (two to a row), all four charts alike.
  const chartHeight = 280 + 20 * legendRows(cards.length);
  return (
    <div className="page results">
      <section className="card">
        <div className="card-head">
          <h2>{run.config.drill ? `Drill run ${run.id}: “${run.config.drill.name}” of run ${run.config.drill.baseRun}, under injected faults` : `Run ${run.id}`}</h2>
          {!run.config.drill && (m?.models.length ?? 0) > 1 && <button type="button" className="link" onClick={() => navigate('compare')} data-testid="results-to-compare">Compare with the champion and gate →</button>}
          <select value={run.id} onChange={(e) => openRun(Number(e.target.value))} aria-label="Run">
            {runs.filter((r) => r.state === 'done').map((r) => <option key={r.id} value={r.id}>{runName(r)} · {r.manifest?.models.map((x) => x.name).join(', ')} · {fmtTime(r.startedAt)}</option>)}
          </select>
        </div>
        {m && <p className="muted small">
          {fmtInt(m.subjects)} changes from {run.config.from ? fmtTime(run.config.from) : 'the start'} to {run.config.until ? fmtTime(run.config.until) : 'the end'} ·
          outcomes: {Object.entries(m.outcomeSources).map(([k, v]) => `${v} ${k}`).join(', ')} · attribution rule {m.attribution.enabled ? `on (SEV ≤ ${m.attribution.maxSeverity} within ${m.attribution.windowHours} h)` : 'off'} ·
          models {m.models.map((x) => `${x.name} v${x.version} (${x.sha256.slice(0, 8)})`).join(', ')} · data {m.datasetFingerprint.slice(0, 12)} · seed {m.seed} · 95 % bootstrap intervals over changes
        </p>}
      </section>
      <div className="scorecards">
        {cards.map((c) => (
          <ScorecardPanel key={c.model.id} card={c} threshold={thresholds[c.model.id] ?? c.threshold} selected={c.model.id === selected?.model.id}
            role={championId === null ? null : c.model.id === championId ? 'champion' : cards.some((x) => x.model.id === championId) ? 'challenger' : null}
            onSelect={() => setSelectedModel(c.model.id)} onThreshold={(t) => setThresholds({ ...thresholds, [c.model.id]: t })} />
        ))}
      </div>
      {cards.length > 0 && selected && (
        <div className="chart-grid">
          <div className="card"><Chart option={rocOption(cards, chartTheme)} height={chartHeight} testId="roc-chart" /></div>
          <div className="card"><Chart option={prOption(cards, chartTheme)} height={chartHeight} testId="pr-chart" /></div>
          <div className="card"><Chart option={reliabilityOption(cards, chartTheme)} height={chartHeight} testId="reliability-chart" /></div>
          <div className="card"><Chart option={sweepOption(selected, chartTheme, thresholds[selected.model.id] ?? selected.threshold)} height={chartHeight} testId="sweep-chart" /></div>
        </div>
      )}
      {selected && (
        <section className="card">
          <div className="card-head">
            <h2>{VIEW_TITLE[view](selected.model.name)}</h2>
            <div className="segmented" role="radiogroup" aria-label="Which changes">
              {(['held', 'missed', 'false-alarms'] as const).map((v) => (
                <label key={v} className={view === v ? 'on' : ''}><input type="radio" name="suggestion-view" checked={view === v} onChange={() => setView(v)} data-testid={`view-${v}`} />{VIEW_LABEL[v]}</label>
              ))}
            </div>
          </div>
          <p className="muted small">{VIEW_HELP[view]} Click one to see why.</p>
          <VirtualTable columns={columns} fetchPage={fetchPage} resetKey={`${run.id}|${selected.model.id}|${thresholds[selected.model.id]}|${view}`} height={320} label={VIEW_TITLE[view](selected.model.name)}
            onRowClick={(s) => void client!.call('suggestions.get', { runId: s.runId, modelId: s.modelId, changeId: s.changeId }).then(setDetail).catch(fail)} testId="gated-table" />
        </section>
      )}
      {detail && <Drawer detail={detail} onClose={() => setDetail(null)} drillOf={run.config.drill?.baseRun ?? null} />}
    </div>
  );
}
