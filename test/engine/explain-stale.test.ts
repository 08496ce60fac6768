import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { changesCsv, freshEngine, importPath, writeFile } from '../helpers/workspace.js';

const T0 = Date.UTC(2026, 0, 1);
const H = 3_600_000;
const incidents = (rows: Array<[string, number]>): string => `id,service,severity,started,detected\n${rows.map(([id, t]) => `${id},api,3,${t},${t + 600_000}`).join('\n')}\n`;

describe('explanations of a run after the workspace changed', () => {
  it('say that today\'s inputs are not the ones the model saw, and are not kept as the run\'s', async () => {
    const { engine, dir, workspace } = await freshEngine();
    await importPath(engine, writeFile(dir, 'changes.csv', changesCsv(300, H, T0)), { kind: 'changes' });
    await importPath(engine, writeFile(dir, 'incidents.csv', incidents(Array.from({ length: 12 }, (_, i) => [`I${i}`, T0 + (10 + i * 20) * H]))), { kind: 'incidents', timeUnit: 'ms' });
    const lr = await engine.call('models.train', { name: 'lr', kind: 'logistic', features: ['lines_added', 'service_incidents_30d'], cutoff: T0 + 150 * H });
    const { jobId } = await engine.call('runs.start', { models: [lr.id], from: T0 + 150 * H });
    const run = (await engine.jobs.wait(jobId)).result as { id: number };
    const rows = (await engine.call('runs.suggestions', { runId: run.id, modelId: lr.id, limit: 1000 })).rows;
    const id = (ext: string): number => rows.find((s) => s.externalId === ext)!.changeId;
    // Seen before the import: kept, and still the model's own afterwards.
    const before = await engine.call('suggestions.get', { runId: run.id, modelId: lr.id, changeId: id('c250') });
    expect(before.explanation.note).toBeUndefined();

    // Five incidents on the service in the days before c200, imported after the run.
    await importPath(engine, writeFile(dir, 'late.csv', incidents(Array.from({ length: 5 }, (_, i) => [`L${i}`, T0 + (190 + i) * H]))), { kind: 'incidents', timeUnit: 'ms' });
    const detail = await engine.call('suggestions.get', { runId: run.id, modelId: lr.id, changeId: id('c200') });
    expect(detail.explanation.note).toMatch(new RegExp(`^The workspace has changed since run ${run.id} \\(data imported since\\): today's inputs for this change give 0\\.\\d{3} where the run stored ${detail.score!.toFixed(3)}`));
    const sum = detail.explanation.contributions.reduce((a, c) => a + c.contribution, 0);
    // The contributions add up to today's score, which is not the stored one.
    expect(Math.abs(sum - (detail.score! - detail.explanation.reference!))).toBeGreaterThan(1e-4);
    expect(detail.explanation.contributions.find((c) => c.feature === 'service_incidents_30d')!.value).toBeGreaterThanOrEqual(5);
    engine.close();
    const db = new Database(workspace, { readonly: true });
    const stored = (change: number): unknown => db.prepare('SELECT explanation FROM suggestions WHERE run_id = ? AND model_id = ? AND change_id = ?').pluck().get(run.id, lr.id, change);
    expect(stored(id('c200'))).toBeNull();
    expect(JSON.parse(stored(id('c250')) as string)).toEqual(before.explanation);
    db.close();
  });
});
