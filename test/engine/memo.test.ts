import { describe, expect, it } from 'vitest';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { scorecard } from '../../electron/engine/runs/scorecard.js';
import { changesCsv, freshEngine, heuristicRun, importPath, writeFile } from '../helpers/workspace.js';

describe('results kept once computed', () => {
  it('gives a finished run\'s scorecard again without recomputing it, and recomputes it after an import', async () => {
    const { engine, dir, workspace } = await freshEngine();
    await importPath(engine, writeFile(dir, 'changes.csv', changesCsv(60)), { kind: 'changes' });
    const m = { id: await heuristicRun(engine) };
    const db = openWorkspace(workspace);
    const first = scorecard(db, 1, m.id, { resamples: 50 });
    expect(scorecard(db, 1, m.id, { resamples: 50 })).toBe(first);
    expect(scorecard(db, 1, m.id, { resamples: 60 })).not.toBe(first);
    expect((await first).incidentsWithoutCause).toBe(0);
    db.close();
    expect((await engine.call('runs.scorecard', { runId: 1, modelId: m.id, resamples: 50 })).incidentsWithoutCause).toBe(0);
    // An incident with no named cause inside the run's range: the scorecard must say so, not serve the old one.
    await importPath(engine, writeFile(dir, 'incidents.csv', 'id,service,severity,started\ni1,api,2,2026-09-02T05:00:00Z\n'), { kind: 'incidents' });
    expect((await engine.call('runs.scorecard', { runId: 1, modelId: m.id, resamples: 50 })).incidentsWithoutCause).toBe(1);
    engine.close();
  });
});
