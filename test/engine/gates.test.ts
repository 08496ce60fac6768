import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { createEngine } from '../../electron/engine/engine.js';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { renderReport } from '../../electron/engine/reports/report.js';
import type { Comparison, GateResult } from '../../shared/contract/gates.js';
import { changesCsv, freshEngine, heuristicRun, importPath, REPO, tempDir, writeFile } from '../helpers/workspace.js';

let workspace: string;
let dir: string;


beforeAll(async () => {
  dir = tempDir();
  workspace = path.join(dir, 'demo.sbw');
  expect((await cli(['demo', '--workspace', workspace])).code).toBe(0);
  expect((await cli(['models', 'train', '--workspace', workspace, '--name', 'rules', '--kind', 'heuristic'])).code).toBe(0);
  expect((await cli(['champion', '--workspace', workspace, '--model', 'rules'])).out).toBe('champion: rules v1 (id 7)\n');
  const run = await cli(['run', '--workspace', workspace, '--models', 'rules,demo-gbdt,demo-shuffled', '--from', 'after-training', '--resamples', '200']);
  expect(run.code, run.err).toBe(0);
  // Progress lines name models and services: only a warning line counts.
  expect(run.err.split('\n').filter((line) => line.startsWith('warning'))).toEqual([]);
}, 240_000);

describe('promotion gates on the demo workspace', () => {
  it('passes the shipped good candidate on the advisory preset (exit 0)', async () => {
    const r = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', 'advisory', '--model', 'demo-gbdt', '--json']);
    expect(r.code, r.err).toBe(0);
    const g = JSON.parse(r.out) as GateResult;
    expect(g.verdict).toBe('pass');
    expect(g.champion?.name).toBe('rules');
    expect(g.criteria.every((c) => c.verdict === 'pass')).toBe(true);
  });

  it('fails the deliberately bad candidate with readable reasons (exit 1)', async () => {
    const r = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', 'advisory', '--model', 'demo-shuffled']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/demo-shuffled v1 — gate "advisory mode" \(champion rules v1\): FAIL/);
    expect(r.out).toMatch(/fail\s+auc_roc >= 0\.65: auc_roc 0\.\d+ \[0\.\d+, 0\.\d+\] is not >= 0\.65 anywhere in its 95 % interval/);
  });

  it('is inconclusive (exit 3) when an interval straddles the bound, and 2 for a gate that does not parse', async () => {
    const gate = path.join(dir, 'straddle.json');
    // The gbdt's capture@20 interval is roughly [0.4, 0.65]: a bound inside it cannot be decided.
    fs.writeFileSync(gate, JSON.stringify({ name: 'straddle', criteria: [{ metric: 'capture_at_20', op: '>=', value: 0.53 }] }));
    const r = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', gate, '--model', 'demo-gbdt']);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/inconclusive\s+capture_at_20 >= 0\.53: .*the interval straddles 0\.53/);
    fs.writeFileSync(gate, JSON.stringify({ name: 'bad', criteria: [{ metric: 'auc_roc', op: '=>', value: 0.5 }] }));
    const bad = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', gate, '--model', 'demo-gbdt']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/the gate is not valid: criteria\.0: op invalid option: expected one of .*\(a criterion is \{"metric", "op": ">=" \| "<=" \| ">" \| "<", "value"\}\)/);
    const none = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', path.join(dir, 'missing.json')]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('no such file');
    // Without --model, a run with two models besides the champion is ambiguous.
    const ambiguous = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', 'advisory']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.err).toContain('has 2 models besides the champion (demo-gbdt, demo-shuffled)');
  });

  it('resolves "champion" to the workspace champion, as the CI job in docs/ci uses it', async () => {
    const r = await cli(['compare', '--workspace', workspace, '--run', '1', '--challenger', 'champion', '--resamples', '50', '--json']);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as Comparison).challenger.name).toBe('rules');
    expect(fs.readFileSync(path.join(REPO, 'docs', 'ci', 'shadowbench-gate.yml'), 'utf8')).toContain('--models champion,candidate');
  });

  it('runs the CI job of docs/ci as written, twice: an outside ONNX candidate beside a heuristic champion, gated and reported', async () => {
    // The candidate: a logistic model trained in another copy and exported (its manifest carries its training cutoff).
    const trainer = path.join(dir, 'trainer.sbw');
    fs.copyFileSync(workspace, trainer);
    expect((await cli(['models', 'train', '--workspace', trainer, '--name', 'candidate', '--train-fraction', '0.6'])).code).toBe(0);
    const job = path.join(dir, 'ci-job');
    fs.mkdirSync(path.join(job, 'models'), { recursive: true });
    expect((await cli(['models', 'export', '--workspace', trainer, '--model', 'candidate', '--out', path.join(job, 'models', 'candidate.onnx')])).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(job, 'models', 'candidate.manifest.json'), 'utf8'))).toHaveProperty('trainedUntil');
    fs.copyFileSync(workspace, path.join(job, 'history.sbw'));
    // Every `node "$SB" …` line of the workflow, its relative paths taken in the job's folder.
    const yml = fs.readFileSync(path.join(REPO, 'docs', 'ci', 'shadowbench-gate.yml'), 'utf8');
    const steps = [...yml.matchAll(/node "\$SB" ([^\n]+)/g)].map((m) => m[1]!.replace(/\s*>\s*\S+$/, '').split(/\s+/));
    expect(steps.map((a) => a[0])).toEqual(['models', 'run', 'gate', 'report', 'report']);
    for (let attempt = 0; attempt < 2; attempt++) {
      let runId = '';
      for (const step of steps) {
        const args = step.map((a) => (a === '"$RUN"' ? runId : /\.(sbw|onnx|json|md|html)$/.test(a) ? path.join(job, a) : a));
        const r = await cli(args);
        if (args[0] === 'gate') expect([0, 1, 3], r.err).toContain(r.code);
        else expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
        if (args[0] === 'models') expect(r.out).toMatch(attempt === 0 ? /^added candidate v1/ : /^Already registered as candidate v1 \(the same file and manifest\); nothing added/);
        if (args[0] === 'run') runId = String((JSON.parse(r.out) as { run: { id: number } }).run.id);
      }
      expect(fs.readFileSync(path.join(job, 'report.md'), 'utf8')).toMatch(/\*\*candidate v1\*\*: gate “advisory mode” → \*\*(PASS|FAIL|INCONCLUSIVE)\*\*/);
      // Between the two, the history grows (the medians the registry filled in move): still the same model.
      if (attempt === 0) {
        const more = Array.from({ length: 40 }, (_, i) => `late-${i},checkout,${Date.UTC(2027, 0, 1) + i * 3_600_000},${5 + i * 11},${i % 3},1,0`).join('\n');
        const extra = path.join(job, 'more.csv');
        fs.writeFileSync(extra, `id,service,timestamp,lines_added,lines_deleted,files_changed,tests_changed\n${more}\n`);
        expect((await cli(['import', '--workspace', path.join(job, 'history.sbw'), '--kind', 'changes', '--time-unit', 'ms', extra])).code).toBe(0);
      }
    }
  });

  it('prints a preset as the start of one\'s own gate file, which gate then takes', async () => {
    const preset = await cli(['gate-preset', 'advisory']);
    expect(preset.code).toBe(0);
    const file = path.join(dir, 'mine.json');
    fs.writeFileSync(file, preset.out);
    expect(JSON.parse(preset.out)).toMatchObject({ name: 'advisory mode', criteria: expect.any(Array) });
    expect((await cli(['gate', '--workspace', workspace, '--run', '1', '--model', 'demo-gbdt', '--gate', file])).code).toBe(0);
    expect((await cli(['gate-preset', 'strict'])).err).toContain('no preset "strict"; the presets are advisory and gating');
  });

  it('says a run was cancelled when asked to gate or compare it, instead of "it has no models"', async () => {
    const copy = path.join(dir, 'cancelled.sbw');
    fs.copyFileSync(workspace, copy);
    const engine = createEngine({ workspacesDir: path.join(dir, 'cancel-ws') });
    await engine.call('workspace.openPath', { path: copy });
    const off = engine.jobs.onUpdate((j) => {
      if (j.kind === 'run' && j.state === 'running' && j.progress.fraction !== null && j.progress.fraction > 0) engine.jobs.cancel(j.id);
    });
    const models = (await engine.call('models.list', {})).filter((m) => m.name === 'demo-gbdt').map((m) => m.id);
    const job = await engine.jobs.wait((await engine.call('runs.start', { models })).jobId);
    off();
    expect(job.state).toBe('cancelled');
    const runId = Math.max(...(await engine.call('runs.list', {})).map((r) => r.id));
    engine.close();
    const g = await cli(['gate', '--workspace', copy, '--run', String(runId), '--gate', 'advisory']);
    expect([g.code, g.err]).toEqual([2, `error: Run ${runId} is cancelled; gates and comparisons need a finished run (runs list shows them)\n`]);
    const c = await cli(['compare', '--workspace', copy, '--run', String(runId), '--challenger', 'demo-gbdt', '--champion', 'rules']);
    expect(c.err).toContain(`Run ${runId} is cancelled`);
  });

  it('runs a model named twice once ("champion,candidate" once the candidate is the champion)', async () => {
    const copy = path.join(dir, 'twice.sbw');
    fs.copyFileSync(workspace, copy);
    const r = await cli(['run', '--workspace', copy, '--models', 'champion,rules', '--resamples', '20', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('rules is rules v1, already in --models; it runs once');
    expect((JSON.parse(r.out) as { run: { manifest: { models: unknown[] } } }).run.manifest.models).toHaveLength(1);
  });

  it('leaves "vs the champion" undecided (exit 3) when the workspace champion did not run, never "no champion yet"', async () => {
    // A CI job that runs only the candidate: the deliberately bad model must not pass as a first candidate.
    const copy = path.join(dir, 'no-champion-in-run.sbw');
    fs.copyFileSync(workspace, copy);
    const run = await cli(['run', '--workspace', copy, '--models', 'demo-shuffled', '--from', 'after-training', '--resamples', '50', '--json']);
    expect(run.code, run.err).toBe(0);
    const runId = (JSON.parse(run.out) as { run: { id: number } }).run.id;
    const r = await cli(['gate', '--workspace', copy, '--run', String(runId), '--model', 'demo-shuffled', '--gate', 'advisory', '--json']);
    const g = JSON.parse(r.out) as GateResult;
    const vs = g.criteria.find((c) => c.criterion.includes('champion'))!;
    expect(vs).toMatchObject({ verdict: 'inconclusive', reason: `the champion, rules v1, did not run in run ${runId}; run it beside this model (run --models rules,demo-shuffled), so auc_roc was not compared with it` });
    expect(g.verdict).not.toBe('pass');
    // The champion itself cannot fall behind itself.
    const self = JSON.parse((await cli(['gate', '--workspace', workspace, '--run', '1', '--model', 'rules', '--gate', 'advisory', '--json'])).out) as GateResult;
    expect(self.criteria.find((c) => c.criterion.includes('champion'))).toMatchObject({ verdict: 'pass', reason: 'this model is the champion, so auc_roc cannot fall behind it' });
  });

  it('does not pass a model on a run with fewer than ten incident-causing changes, whatever the criteria', async () => {
    const { engine, dir: d } = await freshEngine();
    await importPath(engine, writeFile(d, 'changes.csv', changesCsv(40)), { kind: 'changes' });
    const m = { id: await heuristicRun(engine) };
    // Operational criteria alone hold; the verdict still cannot be a pass on 8 failures.
    const g = await engine.call('gates.check', { runId: 1, modelId: m.id, spec: { name: 'ops', criteria: [{ metric: 'error_rate', op: '<=', value: 0.01 }] } });
    expect(g.verdict).toBe('inconclusive');
    expect(g.criteria.at(-1)).toMatchObject({ verdict: 'inconclusive', reason: 'only 8 of the 40 changes judged caused an incident: too few to tell whether the model catches them' });
    engine.close();
  });

  it('never calls a model better than itself', async () => {
    const r = await cli(['compare', '--workspace', workspace, '--run', '1', '--challenger', 'demo-gbdt', '--champion', 'demo-gbdt', '--resamples', '200', '--json']);
    expect(r.code, r.err).toBe(0);
    const c = JSON.parse(r.out) as Comparison;
    expect(c.metrics.every((m) => m.verdict === 'not enough evidence' || m.verdict === 'no preference')).toBe(true);
    expect(c.summary).toContain('no metric differs beyond noise');
    expect(c.disagreementCount).toBe(0);
  });

  it('compares the good candidate with the champion: better AUC, the disagreements listed with what happened', async () => {
    const r = await cli(['compare', '--workspace', workspace, '--run', '1', '--challenger', 'demo-gbdt', '--resamples', '300', '--json']);
    const c = JSON.parse(r.out) as Comparison;
    expect(c.metrics.find((m) => m.metric === 'auc_roc')!.verdict).toBe('better');
    expect(c.disagreementCount).toBe(c.mcnemar.championOnlyRight + c.mcnemar.challengerOnlyRight);
    const d = c.disagreements[0]!;
    expect(d.championGates).not.toBe(d.challengerGates);
    expect(['incident', 'rolled back', 'nothing']).toContain(d.outcome);
  });
});

describe('reports', () => {
  it('say each step as they go: every scorecard, comparison and verdict, then the cases, with rising fractions', async () => {
    const db = openWorkspace(workspace);
    const steps: Array<{ fraction: number | null; message: string }> = [];
    try {
      const file = await renderReport(db, { runId: 1, format: 'md' }, { throwIfCancelled: () => undefined, progress: (u) => steps.push(u) });
      expect(file.fileName).toBe('shadowbench-run-1.md');
    } finally {
      db.close();
    }
    expect(steps.map((s) => s.message)).toEqual([
      'scorecard of rules v1', 'scorecard of demo-gbdt v1', 'scorecard of demo-shuffled v1',
      'comparing demo-gbdt v1 with the champion', 'comparing demo-shuffled v1 with the champion',
      'gate "advisory mode" on demo-gbdt v1', 'gate "advisory mode" on demo-shuffled v1',
      'the biggest misses and false alarms, explained', 'writing',
    ]);
    const fractions = steps.map((s) => s.fraction!);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions[0]).toBe(0);
    expect(fractions.at(-1)!).toBeGreaterThan(0.9);
  });

  it('are jobs: cancelled between steps they leave no result, and every export is audited', async () => {
    const engine = createEngine({ workspacesDir: path.join(dir, 'report-ws') });
    await engine.call('workspace.openPath', { path: workspace });
    const auditBefore = (await engine.call('audit.list', { action: 'report.' })).total;
    const { jobId } = await engine.call('reports.start', { runId: 1, format: 'md' });
    const done = await engine.jobs.wait(jobId);
    expect(done.state, done.error?.message).toBe('done');
    expect((done.result as { content: string }).content).toContain('demo-gbdt v1');
    // Cancelled as its first step is announced (the listener runs inside that announcement), it
    // stops before the second step.
    const off = engine.jobs.onUpdate((j) => {
      if (j.kind === 'report' && j.state === 'running' && j.progress.message.startsWith('scorecard of')) engine.jobs.cancel(j.id);
    });
    const second = await engine.call('reports.start', { runId: 1, format: 'html' });
    const cancelled = await engine.jobs.wait(second.jobId);
    off();
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.result).toBeUndefined();
    // Each export is logged when asked for and again when it ends, however it ends.
    const log = await engine.call('audit.list', { action: 'report.' });
    expect(log.total).toBe(auditBefore + 4);
    expect(log.rows.slice(0, 4).map((r) => r.action)).toEqual(['report.cancelled', 'report.export', 'report.finish', 'report.export']);
    // An unknown run is refused before any job starts.
    await expect(engine.call('reports.start', { runId: 999, format: 'md' })).rejects.toThrow(/run 999/i);
    engine.close();
  });

  it('writes a self-contained HTML report and a Markdown summary with a table', async () => {
    const html = path.join(dir, 'report.html');
    const md = path.join(dir, 'report.md');
    expect((await cli(['report', '--workspace', workspace, '--run', '1', '--out', html])).code).toBe(0);
    expect((await cli(['report', '--workspace', workspace, '--run', '1', '--out', md])).code).toBe(0);
    const page = fs.readFileSync(html, 'utf8');
    expect(page).not.toMatch(/<script|<link|src="http|href="http|url\(http/);
    expect((page.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(page).toContain('demo-shuffled v1: <span class="verdict-fail">FAIL</span>');
    expect(page).toContain('Biggest misses');
    const text = fs.readFileSync(md, 'utf8');
    expect(text).toMatch(/^\| metric \| rules v1 \(champion\) \| demo-gbdt v1 \| demo-shuffled v1 \|$/m);
    expect(text).toMatch(/^\|---\|---\|---\|---\|$/m);
    expect(text).toMatch(/\*\*demo-gbdt v1\*\*: gate “advisory mode” → \*\*PASS\*\*( · ⚠ drift flag raised \(max PSI [\d.]+ on \w+\))?$/m);
    // The Markdown carries what a reader needs beside a verdict: what each model is judged on, fallbacks and drift.
    expect(text).toMatch(/^\| judged on \| \d+ changes, \d+ caused incidents \|/m);
    expect(text).toMatch(/^\| fallback_rate \| /m);
    expect(text).toMatch(/^\| max_psi \| /m);
    // A report that cannot be written is refused whole, naming the file; nothing cut off is left.
    const nowhere = path.join(dir, 'no-such-dir', 'r.md');
    const refused = await cli(['report', '--workspace', workspace, '--run', '1', '--out', nowhere]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`Could not write ${nowhere}`);
    expect(fs.existsSync(path.dirname(nowhere))).toBe(false);
    // What a reader needs to read the numbers: the threshold they were taken at, the range that was
    // scored, and how outcomes were decided.
    const engine = createEngine({ workspacesDir: tempDir() });
    await engine.call('workspace.openPath', { path: workspace });
    const run = await engine.call('runs.get', { id: 1 });
    const cards = await Promise.all(run.manifest!.models.map((m) => engine.call('runs.scorecard', { runId: 1, modelId: m.id, resamples: 0 })));
    engine.close();
    expect(text).toContain(`| threshold (cost-optimal) | ${cards.map((c) => `${c.threshold.toFixed(3)} (${c.costOptimalThreshold!.toFixed(3)})`).join(' | ')} |`);
    expect(text).toMatch(/^\| recall at the threshold \| /m);
    expect(text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d → the last change \(scored changes \d{4}-\d\d-\d\d \d\d:\d\d → \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\. Outcomes: .*attribution rule (on|off)/m);
    expect(page).toContain('max_psi: the largest population stability index');
    // Incidents nobody named a cause for: their causes count as good changes, and the report says how many.
    const db = new Database(workspace, { readonly: true });
    const span = db.prepare('SELECT min(c.ts) AS lo, max(c.ts) AS hi FROM suggestions s JOIN changes c ON c.id = s.change_id WHERE s.run_id = 1 AND s.model_id = ?').get(cards[0]!.model.id) as { lo: number; hi: number };
    const unlinked = db.prepare('SELECT count(*) FROM incidents WHERE cause_change_id IS NULL AND started_ts BETWEEN ? AND ?').pluck().get(span.lo, span.hi) as number;
    db.close();
    expect(unlinked).toBeGreaterThan(0);
    expect(cards.map((c) => c.incidentsWithoutCause)).toEqual(cards.map(() => unlinked));
    expect(text).toContain(`${unlinked} incidents in this period have no postmortem cause: whichever changes caused them count as good here`);
    const bad = await cli(['report', '--workspace', workspace, '--run', '1', '--out', path.join(dir, 'report.pdf')]);
    expect(bad.code).toBe(2);
  });
});

describe('score-change', () => {
  it('scores a pending change as of now with its top signals and mitigations', async () => {
    const change = path.join(dir, 'change.json');
    fs.writeFileSync(change, JSON.stringify({ id: 'PR-42', service: 'checkout', attributes: { lines_added: 2400, lines_deleted: 900, files_changed: 60, tests_changed: 0, config_only: 0, dependency_bump: 1, off_hours: 1 } }));
    const r = await cli(['score-change', '--workspace', workspace, '--model', 'demo-gbdt', '--change', change, '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as { score: number; contributions: { feature: string }[]; mitigations: unknown[] };
    expect(s.score).toBeGreaterThan(0);
    expect(s.contributions.length).toBeGreaterThan(0);
    // A small, tested, business-hours change scores lower than the big risky one.
    fs.writeFileSync(change, JSON.stringify({ id: 'PR-43', service: 'checkout', attributes: { lines_added: 5, lines_deleted: 2, files_changed: 1, tests_changed: 2, config_only: 0, dependency_bump: 0, off_hours: 0 } }));
    const small = JSON.parse((await cli(['score-change', '--workspace', workspace, '--model', 'demo-gbdt', '--change', change, '--json'])).out) as { score: number; mitigations: { text: string }[] };
    expect(small.score).toBeLessThan(s.score);
    // Advice follows the values: the big one is told it is large, the five-line one is not.
    expect((s.mitigations as { text: string }[]).map((m) => m.text).join('\n')).toMatch(/Large change, (lines_added \(2,400|lines_deleted \(900|files_changed \(60); typical/);
    expect(small.mitigations.map((m) => m.text).join('\n')).not.toMatch(/Large change/);
    // A misspelt attribute beside the right one is said, not silently ignored.
    fs.writeFileSync(change, JSON.stringify({ service: 'checkout', attributes: { lines_added: 5, lines_adedd: 500, lines_deleted: 2, files_changed: 1, tests_changed: 2, config_only: 0, dependency_bump: 0, off_hours: 0 } }));
    const typo = await cli(['score-change', '--workspace', workspace, '--model', 'demo-gbdt', '--change', change]);
    expect(typo.code, typo.err).toBe(0);
    expect(typo.err).toBe('warning: lines_adedd is not read by demo-gbdt and no imported change has it: misspelt?\n');
    fs.writeFileSync(change, JSON.stringify({ service: 'checkout', attributes: { lines_added: 5 } }));
    const missing = await cli(['score-change', '--workspace', workspace, '--model', 'demo-gbdt', '--change', change]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/needs the attributes .*lines_deleted/);
    fs.writeFileSync(change, JSON.stringify({ service: 'nowhere', attributes: {} }));
    expect((await cli(['score-change', '--workspace', workspace, '--model', 'demo-gbdt', '--change', change])).err).toContain('Unknown service "nowhere"');
  });

  it('warns when a run reaches into a model\'s training window (only for the models it does)', async () => {
    const r = await cli(['run', '--workspace', workspace, '--models', 'rules,demo-gbdt', '--from', '2026-10-01T00:00:00Z', '--resamples', '0']);
    expect(r.code, r.err).toBe(0);
    const warnings = r.err.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([expect.stringMatching(/^warning: demo-gbdt v1 was trained on changes before 2026-10-23T09:30:\d\d\.000Z; this run starts earlier, .*--from after-training/)]);
    // The scorecard says it too (and so do Results and reports): how many changes were training data.
    const cutoff = (JSON.parse((await cli(['models', 'list', '--workspace', workspace, '--json'])).out) as Array<{ name: string; trainedUntil: number | null }>).find((m) => m.name === 'demo-gbdt')!.trainedUntil!;
    const db = new Database(workspace, { readonly: true });
    const early = db.prepare('SELECT count(*) FROM changes WHERE ts >= ? AND ts < ?').pluck().get(Date.parse('2026-10-01T00:00:00Z'), cutoff) as number;
    db.close();
    expect(early).toBeGreaterThan(100);
    const lines = r.out.split('\n').filter((l) => l.includes('WARNING'));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^  WARNING: ${early} of \\d+ changes are from before demo-gbdt v1's training cutoff \\(2026-10-23 09:30 UTC\\): it was scored on data it learned from`))]);
    const report = path.join(dir, 'leaky.md');
    expect((await cli(['report', '--workspace', workspace, '--run', '2', '--out', report])).code).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).toContain(`> ⚠ ${early} of `);
    // A clean run says nothing of the kind.
    expect((await cli(['report', '--workspace', workspace, '--run', '1', '--out', report])).code).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).not.toContain('training cutoff');
    // Nor can such a run pass a gate: a bound the model clears on the clean run 1 is inconclusive (exit 3) on run 2.
    const gateFile = path.join(dir, 'auc-gate.json');
    fs.writeFileSync(gateFile, JSON.stringify({ name: 'auc', criteria: [{ metric: 'auc_roc', op: '>=', value: 0.6 }] }));
    expect((await cli(['gate', '--workspace', workspace, '--run', '1', '--model', 'demo-gbdt', '--gate', gateFile])).code).toBe(0);
    const leaky = await cli(['gate', '--workspace', workspace, '--run', '2', '--model', 'demo-gbdt', '--gate', gateFile, '--json']);
    expect(leaky.code).toBe(3);
    const result = JSON.parse(leaky.out) as GateResult;
    expect(result.criteria.map((c) => [c.criterion, c.verdict])).toEqual([['auc_roc >= 0.6', 'pass'], ['scored only after its training window', 'inconclusive']]);
    expect(result.criteria[1]!.reason).toMatch(new RegExp(`^${early} of \\d+ changes are from before demo-gbdt v1's training cutoff`));
  });
});

describe('run config files (run --config, runs show --config)', () => {
  const suggestions = (run: number): Array<Record<string, unknown>> => {
    const db = new Database(workspace, { readonly: true });
    try {
      // Not the explanation: ONNX models' are computed when first asked for (earlier tests asked for some).
      return db.prepare('SELECT model_id, change_id, replay_ts, score, decision, latency_ms IS NOT NULL AS timed, error, fallback_model_id, label, label_source, incident FROM suggestions WHERE run_id = ? ORDER BY model_id, change_id').all(run) as Array<Record<string, unknown>>;
    } finally {
      db.close();
    }
  };
  const runCount = async (): Promise<number> => (JSON.parse((await cli(['runs', 'list', '--workspace', workspace, '--json'])).out) as unknown[]).length;

  it('prints a run\'s config as a file that re-runs it to identical suggestions', async () => {
    const shown = await cli(['runs', 'show', '--workspace', workspace, '--run', '1', '--config']);
    expect(shown.code, shown.err).toBe(0);
    const config = JSON.parse(shown.out) as { models: number[]; from: string; attribution: { enabled: boolean }; seed: number };
    const models = (JSON.parse((await cli(['models', 'list', '--workspace', workspace, '--json'])).out) as Array<{ id: number; name: string }>);
    expect(config.models.map((id) => models.find((m) => m.id === id)?.name)).toEqual(['rules', 'demo-gbdt', 'demo-shuffled']);
    expect(config.from).toMatch(/^2026-10-23T09:30:\d\d\.000Z$/);
    expect(config.attribution.enabled).toBe(false);
    const file = path.join(dir, 'rerun.json');
    fs.writeFileSync(file, shown.out);
    const again = await cli(['run', '--workspace', workspace, '--config', file, '--resamples', '0', '--json']);
    expect(again.code, again.err).toBe(0);
    const rerun = (JSON.parse(again.out) as { run: { id: number } }).run.id;
    const before = suggestions(1);
    expect(before.length).toBe(3 * 669);
    expect(suggestions(rerun)).toEqual(before);
    expect((await cli(['runs', 'list', '--workspace', workspace])).out).toMatch(new RegExp(`^\\s+${rerun}  change-risk done .*rules v1, demo-gbdt v1, demo-shuffled v1  669 changes$`, 'm'));
  });

  it('takes thresholds by model name, the attribution rule and the seed from the file; flags override the file', async () => {
    const file = path.join(dir, 'run.json');
    fs.writeFileSync(file, JSON.stringify({ models: ['rules'], from: 'after-training', thresholds: { 'demo-gbdt': 0.2 }, attribution: { enabled: true, maxSeverity: 1, windowHours: 12 }, seed: 7 }));
    const r = await cli(['run', '--workspace', workspace, '--config', file, '--models', 'demo-gbdt', '--resamples', '0', '--json']);
    expect(r.code, r.err).toBe(0);
    const { run, scorecards } = JSON.parse(r.out) as { run: { id: number; config: { models: number[]; seed: number; thresholds: Record<string, number> }; manifest: { attribution: unknown } }; scorecards: Array<{ threshold: number; model: { name: string } }> };
    expect(scorecards.map((c) => [c.model.name, c.threshold])).toEqual([['demo-gbdt', 0.2]]);
    expect(run.config.thresholds).toEqual({ [String(run.config.models[0])]: 0.2 });
    expect(run.config.seed).toBe(7);
    expect(run.manifest.attribution).toEqual({ enabled: true, maxSeverity: 1, windowHours: 12 });
    const rows = suggestions(run.id);
    expect(rows.filter((s) => s.decision === 1).length).toBe(rows.filter((s) => (s.score as number) >= 0.2).length);
    expect(rows.some((s) => s.label_source === 'rule')).toBe(true);
  });

  it('refuses a config with a typo or a threshold for a model not in the run (exit 2, naming the key) and adds no run', async () => {
    const before = await runCount();
    const typo = path.join(dir, 'typo.json');
    fs.writeFileSync(typo, JSON.stringify({ models: ['demo-gbdt'], treshold: 0.3 }));
    const a = await cli(['run', '--workspace', workspace, '--config', typo]);
    expect(a.code).toBe(2);
    expect(a.err).toContain(`${typo}: config: Unrecognized key: "treshold" (it takes models, from, until, services, thresholds,`);
    fs.writeFileSync(typo, JSON.stringify({ models: ['demo-gbdt'], thresholds: { rules: 0.3 } }));
    const b = await cli(['run', '--workspace', workspace, '--config', typo]);
    expect([b.code, b.err.trim()]).toEqual([2, 'error: thresholds: "rules" is not one of this run\'s models']);
    fs.writeFileSync(typo, JSON.stringify({ models: ['demo-gbdt'], from: '2026-10-30T00:00:00Z', until: '2026-10-29T00:00:00Z' }));
    expect((await cli(['run', '--workspace', workspace, '--config', typo])).err).toMatch(/until \(2026-10-29T00:00:00.000Z\) must be after from/);
    expect((await cli(['runs', 'show', '--workspace', workspace, '--run', '99'])).err).toMatch(/No run 99; runs: (\d+, )+2, 1\n/);
    expect(await runCount()).toBe(before);
  });
});

describe('bad input in a pipeline: typos stop the job by name, and nothing is half-done', () => {
  it('refuses gate files with a misspelt key, a misspelt "vs" or an unknown metric (exit 2, not a verdict)', async () => {
    const gate = (criteria: unknown[]): string => {
      const file = path.join(dir, `g${Math.random().toString(36).slice(2)}.json`);
      fs.writeFileSync(file, JSON.stringify({ name: 'typo', criteria }));
      return file;
    };
    const run = async (file: string) => cli(['gate', '--workspace', workspace, '--run', '1', '--model', 'demo-gbdt', '--gate', file]);
    const vs = await run(gate([{ vs: 'champoin', metric: 'auc_roc', op: 'improves' }]));
    expect([vs.code, vs.err]).toEqual([2, expect.stringMatching(/criteria\.0: vs invalid option: expected one of "champion"\|"imported_alerts" \(a criterion is \{"vs": "champion" \(change-risk\) \| "imported_alerts" \(detection\)/)]);
    const margin = await run(gate([{ vs: 'champion', metric: 'auc_roc', op: 'not_worse_than', margn: 0.02 }]));
    expect([margin.code, margin.err]).toEqual([2, expect.stringMatching(/criteria\.0: criterion unrecognized key: "margn"/)]);
    const metric = await run(gate([{ metric: 'auc_roc', op: '>=', value: 0.5 }, { metric: 'auc_rco', op: '>=', value: 0.5 }]));
    expect([metric.code, metric.err]).toEqual([2, expect.stringMatching(/gate "typo": criteria\.1: "auc_rco" is not a metric of this scorecard \(known: auc_roc, /)]);
  });

  it('refuses a drill file with a misspelt key, naming what it takes', async () => {
    const file = path.join(dir, 'drill-typo.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'typo', baseRun: 1, perturbation: [{ kind: 'failure', share: 0.2 }] }));
    const r = await cli(['drill', '--workspace', workspace, '--drill', file]);
    expect([r.code, r.err]).toEqual([2, expect.stringContaining('drill: Unrecognized key: "perturbation" (it takes name, description, task, baseRun, models, seed, perturbations, runner, gate)')]);
  });

  it('refuses conflicting options, and a bad number before any run is stored', async () => {
    const runs = async (): Promise<number> => (JSON.parse((await cli(['runs', 'list', '--workspace', workspace, '--json'])).out) as unknown[]).length;
    const before = await runs();
    expect((await cli(['run', '--workspace', workspace, '--models', 'rules', '--resamples', 'abc'])).code).toBe(2);
    expect(await runs()).toBe(before);
    expect((await cli(['compare', '--workspace', workspace, '--run', '1', '--challenger', 'demo-gbdt', '--champion', 'none'])).err).toContain('--champion none: a comparison needs a champion');
    expect((await cli(['champion', '--workspace', workspace, '--model', 'demo-gbdt', '--revert'])).err).toContain('--model and --revert: give one');
    expect((await cli(['champion', '--workspace', workspace])).out).toBe('champion: rules v1 (id 7)\n');
    // "latest" is the newest finished change-risk run; 0 is not an id.
    const all = JSON.parse((await cli(['runs', 'list', '--workspace', workspace, '--json'])).out) as Array<{ id: number; task: string; config: { drill?: unknown } }>;
    const newest = Math.max(...all.filter((r) => r.task === 'change-risk' && !r.config.drill).map((r) => r.id));
    expect((JSON.parse((await cli(['runs', 'show', '--workspace', workspace, '--run', 'latest', '--json'])).out) as { id: number }).id).toBe(newest);
    expect(newest).toBeGreaterThan(2);
    expect((await cli(['gate', '--workspace', workspace, '--run', '0', '--gate', 'advisory'])).err).toMatch(/'--run <id>' argument '0' is invalid/);
    expect((await cli(['dataset', 'export', '--workspace', workspace, '--out', path.join(dir, 'd.csv'), '--features', 'nosuch'])).err).toMatch(/^error: unknown feature nosuch; available: service_changes_7d, /);
  });

  it('a model name in gate and compare means the version that ran in that run, even after a newer one was added', async () => {
    // The same file and manifest again is the version already there (a CI job run twice): v2 has another default threshold.
    const onnx = path.join(REPO, 'sample-data/models/demo-risk-gbdt.onnx');
    const again = await cli(['models', 'add', '--workspace', workspace, '--onnx', onnx, '--manifest', path.join(REPO, 'sample-data/models/demo-risk-gbdt.manifest.json')]);
    expect([again.code, again.out]).toEqual([0, expect.stringMatching(/^Already registered as demo-gbdt v1 \(the same file and manifest\); nothing added/)]);
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'sample-data/models/demo-risk-gbdt.manifest.json'), 'utf8')) as { threshold: number };
    const v2manifest = path.join(dir, 'gbdt-v2.manifest.json');
    fs.writeFileSync(v2manifest, JSON.stringify({ ...manifest, threshold: 0.31 }));
    const added = await cli(['models', 'add', '--workspace', workspace, '--onnx', onnx, '--manifest', v2manifest]);
    expect(added.out).toMatch(/^added demo-gbdt v2 /);
    expect(added.out).toMatch(/note: Same file \(sha256 [0-9a-f]{12}…\) as demo-gbdt v1/);
    const g = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', 'advisory', '--model', 'demo-gbdt', '--json']);
    expect(g.code, g.err).toBe(0);
    expect((JSON.parse(g.out) as GateResult).model).toMatchObject({ name: 'demo-gbdt', version: 1 });
    const c = await cli(['compare', '--workspace', workspace, '--run', '1', '--challenger', 'demo-gbdt', '--resamples', '0', '--json']);
    expect((JSON.parse(c.out) as Comparison).challenger).toMatchObject({ name: 'demo-gbdt', version: 1 });
    // A model the run never scored is named with the run's own models.
    const other = await cli(['gate', '--workspace', workspace, '--run', '1', '--gate', 'advisory', '--model', String((JSON.parse((await cli(['models', 'list', '--workspace', workspace, '--json'])).out) as Array<{ id: number; name: string; version: number }>).find((m) => m.name === 'demo-gbdt' && m.version === 2)!.id)]);
    expect([other.code, other.err]).toEqual([2, expect.stringMatching(/\(demo-gbdt v2\) is not a model of run 1; it ran rules v1, demo-gbdt v1, demo-shuffled v1/)]);
  });

  it('prints one JSON document with --json from the commands that write files or set roles', async () => {
    const json = async (args: string[]): Promise<unknown> => {
      const r = await cli([...args, '--json']);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    expect(await json(['champion', '--workspace', workspace])).toEqual({ champion: { id: 7, name: 'rules', version: 1 } });
    const md = path.join(dir, 'latest.md');
    expect(await json(['report', '--workspace', workspace, '--run', '1', '--out', md])).toEqual({ run: 1, format: 'md', out: md, bytes: fs.statSync(md).size });
    const csv = path.join(dir, 'data.csv');
    expect(await json(['dataset', 'export', '--workspace', workspace, '--out', csv, '--features', 'lines_added'])).toEqual({ out: csv, rows: fs.readFileSync(csv, 'utf8').trim().split('\n').length - 1 });
    const onnx = path.join(dir, 'exported.onnx');
    expect(await json(['models', 'export', '--workspace', workspace, '--model', 'demo-shuffled', '--out', onnx])).toMatchObject({ onnx });
  });
});
