import { useEffect, useMemo, useRef, useState } from 'react';
import { CriteriaVerdicts, SavedGates } from '../components/GateParts.js';
import { Empty, NoWorkspace } from '../components/Empty.js';
import { fmtTime, runName } from '../format.js';
import { JobProgress } from '../components/Progress.js';
import { Promote } from '../components/Promote.js';
import { useStore } from '../store.js';
import { MULTIPLE_METRICS_NOTE } from '../../../shared/metrics/compare.js';

const num = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? '—' : v.toFixed(d));

/** Champion vs challenger on one run, the gate editor with its live verdict, and report export. */
export function Compare() {
  const { runs, models, workspace, championId, comparison, comparing, presets, gateResult, gateError, loadGates, compare, checkGate, saveGate, exportReport } = useStore();
  // The report being built (seconds to a minute on a year of changes): its progress, and Cancel.
  const reportJobId = useStore((s) => s.reportJobId);
  const reportJob = useStore((s) => (s.reportJobId ? s.jobs[s.reportJobId] ?? null : null));
  const done = runs.filter((r) => r.state === 'done' && r.manifest && r.manifest.models.length > 0);
  const [runId, setRunId] = useState<number | null>(null);
  // Arriving from a retraining (or any comparison made elsewhere): show that run and pair. Else the
  // newest real run: a drill's numbers are made under injected faults, not the model's verdict.
  const run = done.find((r) => r.id === (runId ?? comparison?.runId)) ?? done.find((r) => !r.config.drill) ?? done[0];
  const inRun = run?.manifest?.models ?? [];
  const [champ, setChamp] = useState<number | null>(null);
  const [challenger, setChallenger] = useState<number | null>(null);
  const [specText, setSpecText] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const debounce = useRef<number | null>(null);
  useEffect(() => void loadGates(), [loadGates, workspace]);
  useEffect(() => {
    if (!specText && presets[0]) setSpecText(JSON.stringify(presets[0], null, 2));
  }, [presets, specText]);
  // Defaults: the workspace's champion if it ran, else none (a model picked by position is not a
  // champion, and judging against it would fail a model against something nobody chose); the
  // challenger the first other model. -1 in `champ`: "none" chosen by hand.
  const fromComparison = comparison && run && comparison.runId === run.id ? comparison : null;
  const championChoice = champ === -1 ? null : champ ?? fromComparison?.champion.id ?? (inRun.some((m) => m.id === championId) ? championId : null);
  const challengerChoice = challenger ?? fromComparison?.challenger.id ?? inRun.find((m) => m.id !== championChoice)?.id ?? null;
  const pairChosen = championChoice !== null && challengerChoice !== null && championChoice !== challengerChoice;
  useEffect(() => {
    if (!run || challengerChoice === null || !specText) return;
    if (debounce.current !== null) window.clearTimeout(debounce.current);
    // With no champion chosen, the engine judges against the workspace's: "none yet" if there is
    // none, undecided if it did not run here.
    debounce.current = window.setTimeout(() => void checkGate(run.id, challengerChoice, specText, championChoice ?? undefined), 300);
  }, [run, challengerChoice, specText, checkGate, championChoice]);
  // The comparison follows the pair chosen, as the gate beside it does: two pages' worth of numbers
  // about two different pairs side by side misled.
  const shown = comparison && run && comparison.runId === run.id && comparison.champion.id === championChoice && comparison.challenger.id === challengerChoice ? comparison : null;
  // The pair last asked for: asked once (no retry loop after an error), asked again once another
  // comparison has been shown, and asked when one running for the previous pair ends.
  const asked = useRef<string | null>(null);
  useEffect(() => {
    if (shown) asked.current = null;
    if (!run || !pairChosen || shown || comparing) return;
    const key = `${run.id}|${championChoice}|${challengerChoice}`;
    if (asked.current === key) return;
    asked.current = key;
    void compare(run.id, championChoice!, challengerChoice!);
  }, [run, championChoice, challengerChoice, pairChosen, shown, comparing, compare]);
  const name = useMemo(() => new Map(models.map((m) => [m.id, `${m.name} v${m.version}`])), [models]);
  if (!workspace) return <NoWorkspace />;
  if (!run) return <Empty text="No finished change-risk run yet: a comparison needs one." page="runs" action="Start a run" />;
  return (
    <div className="page compare">
      <section className="card form">
        <h2>Champion vs challenger</h2>
        <div className="form-row">
          <label>Run
            <select value={run.id} onChange={(e) => { setRunId(Number(e.target.value)); setChamp(null); setChallenger(null); }} data-testid="compare-run">
              {done.map((r) => <option key={r.id} value={r.id}>{runName(r)} · {r.manifest!.models.map((m) => `${m.name} v${m.version}`).join(', ')}</option>)}
            </select>
          </label>
          <label>Champion
            <select value={championChoice ?? ''} onChange={(e) => setChamp(e.target.value === '' ? -1 : Number(e.target.value))} data-testid="compare-champion">
              <option value="">none{championId === null ? ' (the workspace has no champion yet)' : ''}</option>
              {inRun.map((m) => <option key={m.id} value={m.id}>{m.name} v{m.version}{m.id === championId ? ' (workspace champion)' : ''}</option>)}
            </select>
          </label>
          {championChoice !== null && championChoice !== championId && <Promote key={championChoice} modelId={championChoice} label={name.get(championChoice) ?? `model ${championChoice}`} verdict={undefined} testId="make-champion" />}
          <label>Challenger
            <select value={challengerChoice ?? ''} onChange={(e) => setChallenger(Number(e.target.value))} data-testid="compare-challenger">
              {inRun.map((m) => <option key={m.id} value={m.id}>{m.name} v{m.version}</option>)}
            </select>
          </label>
          <button className="primary" disabled={!pairChosen || comparing} onClick={() => void compare(run.id, championChoice!, challengerChoice!)} data-testid="compare-start">
            {comparing ? 'Comparing…' : 'Compare'}
          </button>
        </div>
        {championChoice !== null && championChoice === challengerChoice && <p className="small verdict-inconclusive" data-testid="compare-same">Champion and challenger are the same model: choose two different ones.</p>}
        {run.config.drill && (
          <p className="small verdict-inconclusive" data-testid="compare-drill">
            Run {run.id} is a drill of run {run.config.drill.baseRun} (“{run.config.drill.name}”): its numbers were made with faults injected on purpose, so a verdict here says how the model fares under them, not whether it may be promoted.
          </p>
        )}
        {championId === null && championChoice === null && (
          <p className="small muted" data-testid="no-champion">The workspace has no champion yet: the gate judges the challenger on its own (“not worse than the champion” holds, “improves” stays undecided). Choose a champion to compare two models, or make one the workspace's.</p>
        )}
        {championId !== null && !inRun.some((m) => m.id === championId) && (
          <p className="small verdict-inconclusive" data-testid="champion-not-in-run">
            The workspace's champion, {name.get(championId) ?? `model ${championId}`}, did not run in run {run.id}: the gate's criteria against the champion stay undecided{championChoice !== null ? ', and the comparison below is with another model of the run' : ''}. Run the champion beside the challenger to compare them.
          </p>
        )}
        <p className="muted small">Both models scored the same changes. Each difference (challenger − champion) has a 95 % paired bootstrap interval: the same resampled changes for both, so it measures the models, not the sample. {MULTIPLE_METRICS_NOTE}</p>
      </section>
      {pairChosen && !shown && <p className="muted small" data-testid="comparison-pending">Comparing {name.get(challengerChoice!)} with {name.get(championChoice!)}…</p>}
      {shown && (
        <section className="card" data-testid="comparison">
          <h2>{shown.challenger.name} v{shown.challenger.version} vs {shown.champion.name} v{shown.champion.version}</h2>
          <p data-testid="comparison-summary">{shown.summary}</p>
          <table className="table">
            <thead><tr><th>Metric</th><th className="num">Champion</th><th className="num">Challenger</th><th className="num">Difference [95 %]</th><th>Verdict</th></tr></thead>
            <tbody>
              {shown.metrics.map((m) => (
                <tr key={m.metric}>
                  <td>{m.metric}</td><td className="num">{num(m.champion)}</td><td className="num">{num(m.challenger)}</td>
                  <td className="num">{num(m.difference.value)} <span className="muted small">[{num(m.difference.lo)}, {num(m.difference.hi)}]</span></td>
                  <td className={`verdict-${m.verdict.replace(/ /g, '-')}`}>{m.verdict}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="small">McNemar's exact test on whether each decision was right, over the {shown.disagreementCount} changes they decide differently: champion alone right {shown.mcnemar.championOnlyRight}, challenger alone right {shown.mcnemar.challengerOnlyRight}, p = {shown.mcnemar.p.toPrecision(3)}.</p>
          <h3>Where they disagree <span className="muted small" data-testid="disagreement-count">{shown.disagreementCount} changes, riskiest first{shown.disagreementCount > Math.min(200, shown.disagreements.length) ? ` (the first ${Math.min(200, shown.disagreements.length)} shown)` : ""}</span></h3>
          <div className="table-scroll tall">
            <table className="table" data-testid="disagreements">
              <thead><tr><th>Change</th><th>Service</th><th>Time (UTC)</th><th className="num">Champion</th><th className="num">Challenger</th><th>Would gate</th><th>What happened</th></tr></thead>
              <tbody>
                {shown.disagreements.slice(0, 200).map((d) => (
                  <tr key={d.changeId}>
                    <td>{d.externalId}</td><td>{d.service}</td><td>{fmtTime(d.ts)}</td>
                    <td className="num">{num(d.championScore)}</td><td className="num">{num(d.challengerScore)}</td>
                    <td>{d.challengerGates ? 'challenger only' : 'champion only'}</td>
                    <td className={d.outcome === 'incident' ? 'bad' : ''}>{d.outcome}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      <section className="card">
        <div className="row-between">
          <h2>Gate <span className="muted small">judging {challengerChoice !== null ? name.get(challengerChoice) : '—'}{championChoice !== null && championChoice !== challengerChoice ? ` against ${name.get(championChoice)}` : ' (no champion to compare with: “not worse than” criteria hold, “improves” ones stay inconclusive)'}</span></h2>
          <div className="form-row">
            {presets.map((p) => <button key={p.name} onClick={() => setSpecText(JSON.stringify(p, null, 2))} data-testid={`preset-${p.name.split(' ')[0]}`}>{p.name}</button>)}
            <SavedGates onPick={setSpecText} />
          </div>
        </div>
        <div className="gate-editor">
          <textarea value={specText} onChange={(e) => setSpecText(e.target.value)} spellCheck={false} rows={18} aria-label="gate spec" data-testid="gate-spec" />
          <div>
            {gateError && <p className="error-text" data-testid="gate-error">{gateError}</p>}
            {gateResult && !gateError && (
              <div data-testid="gate-result">
                <p className={`gate-verdict verdict-${gateResult.verdict}`} data-testid="gate-verdict">{gateResult.verdict.toUpperCase()}</p>
                <CriteriaVerdicts result={gateResult} />
              </div>
            )}
            {gateResult && !gateError && challengerChoice !== null && challengerChoice !== championId && (
              <Promote key={challengerChoice} modelId={challengerChoice} label={name.get(challengerChoice) ?? `model ${challengerChoice}`} verdict={gateResult.model.id === challengerChoice ? gateResult : undefined} testId="promote-challenger" />
            )}
            <div className="form-row">
              <button onClick={() => void saveGate(specText).then((g) => g && setSaved(`Saved ${g.name} v${g.version}`))} data-testid="gate-save">Save gate</button>
              {saved && <span className="muted small" data-testid="gate-saved">{saved}</span>}
            </div>
          </div>
        </div>
      </section>
      <section className="card">
        <h2>Report</h2>
        <p className="muted small">One self-contained HTML file (charts embedded as SVG, nothing loaded from the network) or a Markdown summary for a pull request: the run's manifest, scorecards, the comparison with the champion chosen above, the verdicts of the gate in the editor, and the biggest misses and false alarms with their explanations.</p>
        <div className="form-row">
          <button type="button" disabled={reportJobId !== null} onClick={() => void exportReport(run.id, 'html', { championId: championChoice, specText })} data-testid="export-html">Export HTML</button>
          <button type="button" disabled={reportJobId !== null} onClick={() => void exportReport(run.id, 'md', { championId: championChoice, specText })} data-testid="export-md">Export Markdown</button>
        </div>
        {reportJob && <JobProgress job={reportJob} />}
      </section>
    </div>
  );
}
