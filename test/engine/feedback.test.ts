import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli.js';
import { createEngine, type Engine } from '../../electron/engine/engine.js';
import type { RunInfo } from '../../shared/contract/models.js';
import { importPath, renderReport, tempDir, writeFile } from '../helpers/workspace.js';

let engine: Engine;
let workspace: string;
let runId: number;
let modelId: number;
let ids: Map<string, number>;

beforeAll(async () => {
  const dir = tempDir();
  workspace = path.join(dir, 'fb.sbw');
  engine = createEngine({ workspacesDir: dir, actor: 'lee' });
  await engine.call('workspace.openPath', { path: workspace, create: true });
  // Four changes: two big (the heuristic holds them back), two small; c1 caused an incident.
  await importPath(engine, writeFile(dir, 'changes.csv', [
    'id,service,timestamp,lines_added,lines_deleted,files_changed',
    'c1,api,2026-09-01T10:00:00Z,2000,500,40', 'c2,api,2026-09-02T10:00:00Z,1800,400,35',
    'c3,api,2026-09-03T10:00:00Z,5,1,1', 'c4,api,2026-09-04T10:00:00Z,3,2,1',
  ].join('\n')), { kind: 'changes' });
  await importPath(engine, writeFile(dir, 'incidents.csv', 'id,service,severity,started_at,detected_at,cause_change_id\nI1,api,1,2026-09-01T11:00:00Z,2026-09-01T11:10:00Z,c1\n'), { kind: 'incidents' });
  modelId = (await engine.call('models.train', { name: 'rules', kind: 'heuristic', threshold: 0.3 })).id;
  const { jobId } = await engine.call('runs.start', { models: [modelId] });
  runId = ((await engine.jobs.wait(jobId)).result as RunInfo).id;
  ids = new Map((await engine.call('changes.page', {})).rows.map((c) => [c.externalId, c.id]));
  return () => engine.close();
}, 60_000);

describe('feedback on suggestions', () => {
  it('records agree, disagree and override with reason, author and time, beside the suggestion', async () => {
    const before = await engine.call('suggestions.get', { runId, modelId, changeId: ids.get('c2')! });
    expect(before.decision).toBe(true); // held back
    await engine.call('feedback.add', { runId, modelId, changeId: ids.get('c1')!, verdict: 'agree', reason: 'huge change on a tier-1 path' });
    await engine.call('feedback.add', { runId, modelId, changeId: ids.get('c2')!, verdict: 'override', decision: 'let through', reason: 'generated code, reviewed twice', author: 'kim' });
    await engine.call('feedback.add', { runId, modelId, changeId: ids.get('c3')!, verdict: 'disagree', reason: 'touches the auth flow' });
    const after = await engine.call('suggestions.get', { runId, modelId, changeId: ids.get('c2')! });
    // The suggestion itself is unchanged; the override sits beside it.
    expect({ ...after, feedback: [] }).toEqual({ ...before, feedback: [] });
    expect(after.feedback).toMatchObject([{ verdict: 'override', decision: 'let through', author: 'kim', reason: 'generated code, reviewed twice' }]);
    const summary = await engine.call('feedback.summary', { runId, modelId });
    // c1: agreed to hold back, it caused I1 → right. c2: let through, nothing happened → right.
    // c3: disagreed with "let through" → hold back, nothing happened → wrong. The model: c1 right, c2 wrong, c3 right.
    expect(summary).toEqual({ modelId, count: 3, agree: 1, disagree: 1, override: 1, overrideRate: 2 / 3, humansRightRate: 2 / 3, modelRightRate: 2 / 3 });
  });

  it('refuses feedback without a reason, an override without a decision, and unknown suggestions', async () => {
    await expect(engine.call('feedback.add', { runId, modelId, changeId: ids.get('c4')!, verdict: 'agree', reason: ' ' })).rejects.toThrow(/reason: a reason is required/);
    await expect(engine.call('feedback.add', { runId, modelId, changeId: ids.get('c4')!, verdict: 'override', reason: 'because' })).rejects.toThrow(/an override needs a decision/);
    await expect(engine.call('feedback.add', { runId, modelId, changeId: 99_999, verdict: 'agree', reason: 'because' })).rejects.toThrow(/^No suggestion for change 99999 by [\w-]+ v1 in run \d+, which scored the changes from \d{4}-\d\d-\d\d \d\d:\d\d to .* UTC$/);
  });

  it('writes each judgement to the audit log and into the report', async () => {
    const log = await engine.call('audit.list', { action: 'feedback.' });
    expect(log.total).toBe(3);
    expect(log.rows[0]!.payload).toMatchObject({ verdict: 'disagree', author: 'lee' });
    expect(log.rows[0]!.subject).toMatch(/^c\d+ by rules v1 \(id \d+\) in run \d+$/);
    const md = await renderReport(engine, { runId, format: 'md', championId: null });
    expect(md.content).toContain('| human feedback | 3 (1 agree, 1 disagree, 1 override); humans right 0.67, model right 0.67 |');
    expect(await engine.call('audit.verify', {})).toMatchObject({ ok: true });
  });

  it('takes feedback from the command line', async () => {
    engine.close();
    let out = '';
    const code = await runCli(['feedback', 'add', '--workspace', workspace, '--run', String(runId), '--model', 'rules', '--change', 'c4', '--verdict', 'agree', '--reason', 'tiny docs fix', '--author', 'ci-bot'],
      { out: (t) => { out += t; }, err: () => undefined, isTTY: false });
    expect(code).toBe(0);
    expect(out).toBe('recorded: agree by ci-bot on c4\n');
    await engine.call('workspace.openPath', { path: workspace });
    expect((await engine.call('feedback.list', { runId })).map((f) => f.author)).toEqual(['lee', 'kim', 'lee', 'ci-bot']);
  });
  it('scrubs a reason like any imported text, and stores and logs an e-mail author as one pseudonym', async () => {
    const f = await engine.call('feedback.add', { runId, modelId, changeId: ids.get('c4')!, verdict: 'agree', reason: 'checked with victor@corp.example.com on 10.3.3.3', author: 'walter@corp.example.com' });
    expect(f.reason).toBe('checked with [redacted:email] on [redacted:ipv4]');
    expect(f.author).toMatch(/^person-[0-9a-f]{10}$/);
    const again = await engine.call('feedback.add', { runId, modelId, changeId: ids.get('c4')!, verdict: 'agree', reason: 'still fine', author: 'Walter@Corp.Example.com' });
    expect(again.author).toBe(f.author);
    const entry = (await engine.call('audit.list', { action: 'feedback.add' })).rows[0]!;
    expect((entry.payload as { author: string }).author).toBe(f.author);
    // A plain name is kept as given: it names who decided, as the audit log's actor does.
    expect((await engine.call('feedback.add', { runId, modelId, changeId: ids.get('c4')!, verdict: 'agree', reason: 'looks fine', author: 'kim' })).author).toBe('kim');
  });
});
