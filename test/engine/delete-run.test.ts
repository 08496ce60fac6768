import Database from 'better-sqlite3';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { changesCsv, freshEngine, heuristicRun, importPath, writeFile } from '../helpers/workspace.js';
import { cli } from '../helpers/cli.js';
import { openWorkspace, PAGE_SIZE } from '../../electron/engine/db/workspace.js';

describe('deleting runs and compacting the workspace', () => {
  it('removes a run with its suggestions, keeps one with feedback, and gives the space back on compact', async () => {
    const { engine, dir, workspace } = await freshEngine();
    await importPath(engine, writeFile(dir, 'changes.csv', changesCsv(3000, 600_000, Date.UTC(2026, 0, 1))), { kind: 'changes' });
    const m = { id: await heuristicRun(engine) };
    for (let k = 0; k < 2; k++) await engine.jobs.wait((await engine.call('runs.start', { models: [m.id] })).jobId);
    const card = await engine.call('runs.scorecard', { runId: 2, modelId: m.id, resamples: 20 });
    // Feedback is evidence and training labels: a run carrying it is kept.
    const first = (await engine.call('runs.suggestions', { runId: 1, modelId: m.id, offset: 0, limit: 1 })).rows[0]!;
    await engine.call('feedback.add', { runId: 1, modelId: m.id, changeId: first.changeId, verdict: 'agree', reason: 'right call' });
    await expect(engine.call('runs.delete', { id: 1 })).rejects.toThrow('Run 1 has 1 piece of human feedback');
    expect(await engine.call('runs.delete', { id: 2 })).toEqual({ id: 2, suggestions: 3000, drillResults: 0 });
    expect(await engine.call('runs.delete', { id: 3 })).toMatchObject({ id: 3, suggestions: 3000 });
    expect((await engine.call('runs.list', {})).map((r) => r.id)).toEqual([1]);
    // The next run takes a new id, never a deleted run's: the log's entries about run 2 stay about run 2.
    await engine.jobs.wait((await engine.call('runs.start', { models: [m.id], until: Date.UTC(2026, 0, 5) })).jobId);
    expect((await engine.call('runs.list', {})).map((r) => r.id)).toEqual([4, 1]);
    const again = await engine.call('runs.scorecard', { runId: 4, modelId: m.id, resamples: 20 });
    expect(again.n).toBeLessThan(card.n);
    await expect(engine.call('runs.scorecard', { runId: 2, modelId: m.id, resamples: 20 })).rejects.toThrow(/run 2/i);
    const log = (await engine.call('audit.list', { action: 'run.delete' })).rows;
    expect(log.map((e) => e.subject)).toEqual(['change-risk run 3', 'change-risk run 2']);
    engine.close();
    const before = fs.statSync(workspace).size;
    const r = await cli(['compact', '--workspace', workspace, '--json']);
    expect(r.code, r.err).toBe(0);
    const c = JSON.parse(r.out) as { bytesBefore: number; bytesAfter: number };
    expect(c.bytesBefore).toBe(before);
    expect(c.bytesAfter).toBeLessThan(c.bytesBefore);
    expect(fs.statSync(workspace).size).toBe(c.bytesAfter);
    expect((await cli(['audit', 'verify', '--workspace', workspace])).code).toBe(0);
  });

  it('gives an older workspace\'s 4 KiB pages the 16 KiB of a new one on compact, unless another connection holds it', async () => {
    const { engine, dir, workspace } = await freshEngine();
    await importPath(engine, writeFile(dir, 'changes.csv', changesCsv(500, 600_000, Date.UTC(2026, 0, 1))), { kind: 'changes' });
    engine.close();
    // Made before 16 KiB pages: rewritten to 4 KiB the way only VACUUM can.
    const old = openWorkspace(workspace);
    old.pragma('journal_mode = DELETE');
    old.pragma('page_size = 4096');
    old.exec('VACUUM');
    old.pragma('journal_mode = WAL');
    old.close();
    const pages = (): { size: number; mode: string; changes: number } => {
      const db = openWorkspace(workspace, { readonly: true });
      try {
        return { size: db.pragma('page_size', { simple: true }) as number, mode: db.pragma('journal_mode', { simple: true }) as string, changes: db.prepare('SELECT count(*) FROM changes').pluck().get() as number };
      } finally {
        db.close();
      }
    };
    expect(pages()).toEqual({ size: 4096, mode: 'wal', changes: 500 });
    // Another connection on it (a reader left open): compacted as it is, still in WAL mode.
    const reader = new Database(workspace, { readonly: true });
    reader.prepare('SELECT count(*) FROM changes').get();
    const held = await cli(['compact', '--workspace', workspace, '--json']);
    expect(held.code, held.err).toBe(0);
    reader.close();
    expect(pages()).toEqual({ size: 4096, mode: 'wal', changes: 500 });
    // On its own: 16 KiB pages, back in WAL mode, every row and the audit chain as they were.
    const alone = await cli(['compact', '--workspace', workspace, '--json']);
    expect(alone.code, alone.err).toBe(0);
    expect(pages()).toEqual({ size: PAGE_SIZE, mode: 'wal', changes: 500 });
    expect((await cli(['audit', 'verify', '--workspace', workspace])).code).toBe(0);
  });
});
