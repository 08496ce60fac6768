import { describe, expect, it } from 'vitest';
import { openWorkspace } from '../../electron/engine/db/workspace.js';
import { buildFeatureColumns, loadChanges } from '../../electron/engine/features/catalog.js';
import { labelChanges } from '../../electron/engine/features/outcomes.js';
import { modelDrift } from '../../electron/engine/runs/drift.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

/**
 * Drift of history features: a count over the 90 days before a change reads low for the first 90
 * days of a workspace's history (the window reaches back before the first change) and then levels
 * off. Compared with a later period that is the data's start, not a change in the world.
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
    return modelDrift(db, { modelId: 1, features, replayed, replayedTimes: subjects.map((c) => c.ts), all, outcomes, firstSubjectTs: subjects[0]!.ts, trainedUntil: null })!;
  } finally {
    db.close();
  }
}

describe('drift of history features', () => {
  it('compares a 90-day count only over changes with 90 days of history behind them', async () => {
    // Reference: days 0–149, of which 90–149 have a full window (each author: exactly 90 changes in it).
    const drift = driftFrom(await steadyWorkspace(200), 150);
    const author = drift.features.find((f) => f.feature === 'author_changes_90d')!;
    // With the warm-up counted, the reference holds 0…89 against a run of 90s: PSI far past 0.25.
    expect(author).toMatchObject({ psi: 0, band: 'stable', note: null });
    expect(drift.features.find((f) => f.feature === 'lines_added')!.band).toBe('stable');
    expect(drift.flag).toBe(false);
  });

  it('says a feature was not compared, and why, when no change in a period has its full window', async () => {
    const drift = driftFrom(await steadyWorkspace(60), 40);
    const author = drift.features.find((f) => f.feature === 'author_changes_90d')!;
    expect(author).toMatchObject({ psi: null, band: null, ks: null });
    expect(author.note).toBe('not compared: it counts the 90 days before each change, complete only for changes from 2026-04-01 on (0 in the reference, 0 in the run; at least 30 of each needed)');
    // Features with no history window are compared as before, and the flag ignores what was not compared.
    expect(drift.features.find((f) => f.feature === 'lines_added')!.psi).not.toBeNull();
    expect(drift.worst).toBe('lines_added');
    expect(drift.flag).toBe(false);
  });
});
