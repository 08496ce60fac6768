import { describe, expect, it } from 'vitest';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { buildFeatureColumns, loadChanges } from '../../electron/engine/features/catalog.js';
import { labelChanges } from '../../electron/engine/features/outcomes.js';
import { modelDrift } from '../../electron/engine/runs/drift.js';
import { warmUpSummary } from '../../shared/drills/warm-up.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

/**
 * Drift of history features: a count over the 90 days before a change reads low for the first 90
 * days of a workspace's history (the window reaches back before the first change) and then levels
 * off. The model does see that shift, so it is flagged; warmUp says how much of it is the data's start.
 */

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

/** Four authors, one change each a day, lines_added from a fixed cycle: nothing about the world changes. */
async function steadyWorkspace(days: number): Promise<string> {
  const { engine, dir, workspace } = await freshEngine();
  const lines = ['id,service,timestamp,author,lines_added'];
  for (let d = 0; d < days; d++) for (let a = 0; a < 4; a++) lines.push(`c${d}-${a},api,${T0 + d * DAY + (10 + a) * 3_600_000},dev${a},${((d * 7 + a * 13) % 50) + 1}`);
  await importPath(engine, writeFile(dir, 'changes.csv', `${lines.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
  engine.close();
  return workspace;
}

function driftFrom(workspace: string, firstSubjectDay: number) {
  const db = openWorkspace(workspace);
  try {
    const all = loadChanges(db);
    const outcomes = labelChanges(db, undefined, all);
    const subjects = all.filter((c) => c.ts >= T0 + firstSubjectDay * DAY);
    const features = ['author_changes_90d', 'lines_added'];
    const replayed = buildFeatureColumns(db, subjects, features, outcomes, all);
    return modelDrift(db, { modelId: 1, features, replayed, replayedTimes: subjects.map((c) => c.ts), history: all, outcomes, firstSubjectTs: subjects[0]!.ts, trainedUntil: null })!;
  } finally {
    db.close();
  }
}

describe('drift of history features', () => {
  it('flags the shift a warming-up 90-day count gives the model, and says how much of it is warm-up', async () => {
    // Reference: days 0–149; the counts of days 0–89 are truncated (0…89 against a steady 90 in the run).
    const drift = driftFrom(await steadyWorkspace(200), 150);
    const author = drift.features.find((f) => f.feature === 'author_changes_90d')!;
    expect(author.band).toBe('drift');
    expect(drift.flag).toBe(true);
    expect(author.warmUp).toEqual({ reference: 360, run: 0, windowDays: 90, historyStart: T0 + 10 * 3_600_000 });
    // A feature with no history window has no warm-up and, steady, no drift.
    expect(drift.features.find((f) => f.feature === 'lines_added')!).toMatchObject({ band: 'stable', warmUp: null });
    expect(warmUpSummary(drift)).toBe('Partly history warm-up — changes less than a window after the first one (2026-01-01) have truncated counts: '
      + 'author_changes_90d (90-day window: 60 % of the reference, 0 % of the run). Part of the shift is the history filling up; the model sees it all the same.');
  });

  it('counts the warm-up on both sides when the run itself is inside the window, and says nothing of stable features', async () => {
    const drift = driftFrom(await steadyWorkspace(60), 40);
    expect(drift.features.find((f) => f.feature === 'author_changes_90d')!.warmUp).toMatchObject({ reference: 160, run: 80 });
    expect(drift.features.find((f) => f.feature === 'lines_added')!.warmUp).toBeNull();
    const stable = { ...drift, features: drift.features.map((f) => ({ ...f, band: 'stable' as const })) };
    expect(warmUpSummary(stable)).toBeNull();
  });
});
