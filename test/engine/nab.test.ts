import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { loadCorpus, loadResults } from '../../electron/engine/nab/corpus.js';
import { NAB_PROFILES, prepareSeries, rawScore } from '../../shared/metrics/nab.js';
import { createEngine } from '../../electron/engine/engine.js';
import { importPath, SHARED_DATA, tempDir } from '../helpers/workspace.js';

const NAB = path.join(SHARED_DATA, 'nab');
const NUMENTA = path.join(NAB, 'results', 'numenta');


/** Writes a detector's results in NAB's layout, scoring each corpus row with `score(file, rowIndex, time)`. */
function writeDetector(name: string, score: (file: string, i: number, t: string, windows: [string, string][]) => number): string {
  const root = path.join(tempDir('nab-'), name);
  const windows = JSON.parse(fs.readFileSync(path.join(NAB, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
  for (const file of Object.keys(windows)) {
    const lines = fs.readFileSync(path.join(NAB, 'data', file), 'utf8').trim().split('\n').slice(1);
    const body = lines.map((l, i) => {
      const t = l.split(',')[0]!;
      return `${t},${score(file, i, t, windows[file]!)}`;
    });
    fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(root, path.dirname(file), `${name}_${path.basename(file)}`), `timestamp,anomaly_score\n${body.join('\n')}\n`);
  }
  return root;
}

describe('shadowbench nab on the NAB corpus', () => {
  it('reproduces the published numenta scores at the stored thresholds', async () => {
    const r = await cli(['nab', '--corpus', NAB, '--results', NUMENTA, '--thresholds', path.join(NAB, 'config', 'thresholds.json'), '--json']);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as { detector: string; scores: Record<string, number>; thresholds: Record<string, number>; raw: Record<string, number> };
    expect(json.detector).toBe('numenta');
    expect(json.scores.standard).toBeCloseTo(70.1011, 3);
    expect(json.scores.reward_low_FP_rate).toBeCloseTo(63.1168, 3);
    expect(json.scores.reward_low_FN_rate).toBeCloseTo(74.3202, 3);
    // The corpus raw totals of SCORING.md §9.
    expect(json.raw.standard).toBeCloseTo(46.6344501971, 6);
    expect(json.raw.reward_low_FP_rate).toBeCloseTo(30.4310725171, 6);
    expect(json.raw.reward_low_FN_rate).toBeCloseTo(26.6344501971, 6);
    expect(json.thresholds.reward_low_FP_rate).toBe(0.5751955032348636);
  });

  it('finds 63.2092 for reward_low_FP_rate when optimising, and prints it', async () => {
    const r = await cli(['nab', '--corpus', NAB, '--results', NUMENTA, '--optimize']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/reward_low_FP_rate\s+63\.2092\s+threshold 0\.543099145074/);
    expect(r.out).toMatch(/standard\s+70\.1011/);
  });

  it('matches the per-file test vectors of SCORING.md §9', () => {
    const corpus = loadCorpus(NAB);
    const { series } = loadResults(NUMENTA, corpus);
    const vectors: [string, keyof typeof NAB_PROFILES, number, number][] = [
      ['realKnownCause/nyc_taxi.csv', 'standard', 0.542187690735, 2.43572773247],
      ['realKnownCause/nyc_taxi.csv', 'reward_low_FP_rate', 0.575195503235, 2.32572773247],
      ['realKnownCause/nyc_taxi.csv', 'reward_low_FN_rate', 0.542187690735, 1.43572773247],
      ['realKnownCause/machine_temperature_system_failure.csv', 'standard', 0.542187690735, 1.36013273774],
    ];
    for (const [file, profile, threshold, want] of vectors) {
      const s = series.find((x) => x.name === file)!;
      expect(rawScore(prepareSeries(s, NAB_PROFILES[profile]), NAB_PROFILES[profile], threshold).raw, `${file} ${profile}`).toBeCloseTo(want, 8);
    }
  });

  it('scores any detector in NAB layout: one firing at each window start gets 100, a constant one 0', async () => {
    const perfect = writeDetector('atStart', (_f, _i, t, windows) => (windows.some(([a]) => a.startsWith(t)) ? 1 : 0));
    const r1 = await cli(['nab', '--corpus', NAB, '--results', perfect, '--optimize', '--json']);
    expect(r1.code, r1.err).toBe(0);
    const j1 = JSON.parse(r1.out) as { detector: string; scores: Record<string, number> };
    expect(j1.detector).toBe('atStart');
    for (const v of Object.values(j1.scores)) expect(v).toBeCloseTo(100, 6);

    const constant = writeDetector('flat', () => 0.5);
    const j2 = JSON.parse((await cli(['nab', '--corpus', NAB, '--results', constant, '--optimize', '--json'])).out) as { scores: Record<string, number> };
    for (const v of Object.values(j2.scores)) expect(v).toBe(0);
  }, 60_000);

  it('names the file and line of a bad results file, and a missing one', async () => {
    const dir = writeDetector('broken', () => 0.1);
    const file = path.join(dir, 'realKnownCause', 'broken_nyc_taxi.csv');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[5] = lines[5]!.replace(/,.*/, ',high');
    fs.writeFileSync(file, lines.join('\n'));
    const r = await cli(['nab', '--corpus', NAB, '--results', dir, '--optimize']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('broken_nyc_taxi.csv line 6: anomaly_score "high" is not a number');

    fs.rmSync(file);
    const r2 = await cli(['nab', '--corpus', NAB, '--results', dir, '--optimize']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/no results for 1 corpus file\(s\), e\.g\. realKnownCause[/\\]broken_nyc_taxi\.csv/);

    const r3 = await cli(['nab', '--corpus', dir, '--results', NUMENTA]);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain('is not a NAB corpus');

    const r4 = await cli(['nab', '--corpus', NAB, '--results', NUMENTA, '--thresholds', path.join(NAB, 'labels', 'combined_windows.json')]);
    expect(r4.code).toBe(2);
    expect(r4.err).toContain('combined_windows.json: expected {detector: {profile: {threshold}}}');
    const other = path.join(dir, 'thresholds.json');
    fs.writeFileSync(other, JSON.stringify({ skyline: { standard: { threshold: 0.5 } } }));
    const r5 = await cli(['nab', '--corpus', NAB, '--results', NUMENTA, '--thresholds', other]);
    expect(r5.code).toBe(2);
    expect(r5.err).toContain('no thresholds for detector "numenta" (it has skyline');
  }, 60_000);
});

describe('NAB files in a workspace', () => {
  it('imports a corpus file as telemetry with its windows as incidents, and scores a detector on it exactly as the corpus scorer does', async () => {
    const workspace = path.join(tempDir(), 'nab.sbw');
    const r = await cli(['nab-import', '--corpus', NAB, '--workspace', workspace, '--files', 'realKnownCause/nyc_taxi.csv']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('10,320 rows imported');
    expect(r.out).toContain('5 rows imported'); // nyc_taxi's five windows
    // numenta's logged scores for the file, imported as a detector log from a shadow deployment.
    const scores = fs.readFileSync(path.join(NUMENTA, 'realKnownCause', 'numenta_nyc_taxi.csv'), 'utf8').trim().split('\n').slice(1)
      .map((l) => `${l.split(',')[0]},realKnownCause.nyc_taxi,numenta,${l.split(',')[1]}`);
    const log = path.join(tempDir(), 'numenta.csv');
    fs.writeFileSync(log, `timestamp,service,detector,score\n${scores.join('\n')}\n`);
    const engine = createEngine({ workspacesDir: tempDir() });
    try {
      await engine.call('workspace.openPath', { path: workspace });
      await importPath(engine, log, { kind: 'detector-scores', timeZone: 'UTC' });
      const model = (await engine.call('models.list', {})).find((m) => m.name === 'numenta')!;
      const { jobId } = await engine.call('detection.start', { models: [model.id], thresholds: { [model.id]: 0.5421876907348634 } });
      const job = await engine.jobs.wait(jobId);
      expect(job.state, job.error?.message).toBe('done');
      const report = await engine.call('detection.report', { runId: (job.result as { id: number }).id, resamples: 50 });
      const nab = report.scorecards.find((c) => c.modelId === model.id)!.nab!;
      // SCORING.md §9: raw 2.43572773247 on this file (standard); 5 windows → 100·(raw + 5)/10.
      expect(nab.standard!.score).toBeCloseTo(100 * (2.43572773247 + 5) / 10, 6);
      expect(nab.reward_low_FN_rate!.score).toBeCloseTo(100 * (1.43572773247 + 10) / 15, 6);
    } finally {
      engine.close();
    }
  }, 60_000);
});
