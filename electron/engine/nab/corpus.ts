import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { NAB_PROFILE_NAMES, scoreProfile, type NabProfileName, type NabProfileResult, type NabSeries } from '../../../shared/metrics/nab.js';
import { EngineFailure } from '../errors.js';

/**
 * Reads NAB's layout: a corpus (`labels/combined_windows.json`, `data/<category>/<file>.csv`) and
 * one detector's results (`<results>/<category>/<detector>_<file>.csv`, score column found by
 * its name), so any detector's output can be scored, not only the ones NAB ships.
 */

const NAB_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** NAB timestamps are naive wall-clock times; read as UTC, to the millisecond. */
export function nabTime(raw: string, where: string): number {
  const m = NAB_TIME.exec(raw.trim());
  if (!m) throw new EngineFailure('input_error', `${where}: "${raw}" is not a NAB timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])`);
  const [, y, mo, d, h, mi, s, frac] = m;
  return Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, frac ? Math.floor(+frac.padEnd(6, '0') / 1000) : 0);
}

export interface NabCorpus {
  dir: string;
  /** "<category>/<file>.csv" → windows in epoch ms */
  windows: Map<string, [number, number][]>;
  totalWindows: number;
}

const windowsSchema = z.record(z.string(), z.array(z.tuple([z.string(), z.string()])));

export function loadCorpus(dir: string): NabCorpus {
  const file = path.join(dir, 'labels', 'combined_windows.json');
  if (!fs.existsSync(file)) throw new EngineFailure('not_found', `${dir} is not a NAB corpus: ${path.join('labels', 'combined_windows.json')} is missing`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineFailure('input_error', `${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = windowsSchema.safeParse(json);
  if (!parsed.success) throw new EngineFailure('input_error', `${file}: expected {"<category>/<file>.csv": [[start, end], …]} (${parsed.error.issues[0]?.message ?? ''} at ${parsed.error.issues[0]?.path.join('.') ?? ''})`);
  const windows = new Map<string, [number, number][]>();
  let totalWindows = 0;
  for (const [name, list] of Object.entries(parsed.data)) {
    windows.set(name, list.map(([a, b], i) => [nabTime(a, `${file} ${name} window ${i + 1}`), nabTime(b, `${file} ${name} window ${i + 1}`)]));
    totalWindows += list.length;
  }
  return { dir, windows, totalWindows };
}

/** Reads `timestamp` and one score column, by name, from a CSV. */
export function readScoreCsv(file: string, scoreColumn: string): { times: Float64Array; scores: Float64Array } {
  let rows: string[][];
  try {
    rows = parse(fs.readFileSync(file), { skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (e) {
    throw new EngineFailure('input_error', `${file}: ${(e as Error).message}`);
  }
  const header = rows[0]?.map((h) => h.trim()) ?? [];
  const ti = header.indexOf('timestamp');
  const si = header.indexOf(scoreColumn);
  if (ti < 0 || si < 0) throw new EngineFailure('input_error', `${file}: needs columns "timestamp" and "${scoreColumn}", has ${header.map((h) => `"${h}"`).join(', ') || 'no header'}`);
  const n = rows.length - 1;
  const times = new Float64Array(n);
  const scores = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const row = rows[r + 1]!;
    times[r] = nabTime(row[ti]!, `${file} line ${r + 2}`);
    const v = Number(row[si]);
    if (row[si]!.trim() === '' || !Number.isFinite(v)) throw new EngineFailure('input_error', `${file} line ${r + 2}: ${scoreColumn} "${row[si]}" is not a number`);
    scores[r] = v;
  }
  return { times, scores };
}

/** One detector's series for every corpus file; the detector name is the results folder's. */
export function loadResults(resultsDir: string, corpus: NabCorpus): { detector: string; series: NabSeries[] } {
  if (!fs.existsSync(resultsDir) || !fs.statSync(resultsDir).isDirectory()) throw new EngineFailure('not_found', `No results folder at ${resultsDir}`);
  const detector = path.basename(path.resolve(resultsDir));
  const series: NabSeries[] = [];
  const missing: string[] = [];
  for (const [name, windows] of corpus.windows) {
    const file = path.join(resultsDir, path.dirname(name), `${detector}_${path.basename(name)}`);
    if (!fs.existsSync(file)) {
      missing.push(path.relative(resultsDir, file));
      continue;
    }
    const { times, scores } = readScoreCsv(file, 'anomaly_score');
    const data = path.join(corpus.dir, 'data', name);
    if (fs.existsSync(data)) {
      const rows = fs.readFileSync(data, 'utf8').split('\n').filter((l) => l.trim() !== '').length - 1;
      if (rows !== times.length) throw new EngineFailure('input_error', `${file}: ${times.length} rows, but the corpus file ${name} has ${rows}; a detector must score every row`);
    }
    series.push({ name, times, scores, windows });
  }
  if (missing.length) throw new EngineFailure('input_error', `${resultsDir}: no results for ${missing.length} corpus file(s), e.g. ${missing.slice(0, 3).join(', ')} (expected <category>/${detector}_<file>.csv)`);
  return { detector, series };
}

const thresholdsSchema = z.record(z.string(), z.record(z.string(), z.object({ threshold: z.number() }).passthrough()));

/** NAB's config/thresholds.json: {detector: {profile: {threshold, score}}}. */
export function readThresholds(file: string, detector: string): Record<NabProfileName, number> {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineFailure('input_error', `${file}: ${(e as Error).message}`);
  }
  const parsed = thresholdsSchema.safeParse(json);
  if (!parsed.success) throw new EngineFailure('input_error', `${file}: expected {detector: {profile: {threshold}}}`);
  const entry = parsed.data[detector];
  if (!entry) throw new EngineFailure('input_error', `${file} has no thresholds for detector "${detector}" (it has ${Object.keys(parsed.data).slice(0, 8).join(', ')}…)`);
  const out = {} as Record<NabProfileName, number>;
  for (const p of NAB_PROFILE_NAMES) {
    const t = entry[p]?.threshold;
    if (t === undefined) throw new EngineFailure('input_error', `${file}: detector "${detector}" has no threshold for profile ${p}`);
    out[p] = t;
  }
  return out;
}

export interface NabReport {
  detector: string;
  scores: Record<NabProfileName, number | null>;
  thresholds: Record<NabProfileName, number>;
  thresholdSource: 'given' | 'optimized';
  profiles: NabProfileResult[];
}

export function scoreDetector(corpusDir: string, resultsDir: string, options: { thresholdsFile?: string | undefined }): NabReport {
  const corpus = loadCorpus(corpusDir);
  const { detector, series } = loadResults(resultsDir, corpus);
  const given = options.thresholdsFile ? readThresholds(options.thresholdsFile, detector) : null;
  const profiles = NAB_PROFILE_NAMES.map((p) => scoreProfile(series, p, given?.[p], corpus.totalWindows));
  return {
    detector,
    scores: Object.fromEntries(profiles.map((r) => [r.profile, r.score])) as Record<NabProfileName, number | null>,
    thresholds: Object.fromEntries(profiles.map((r) => [r.profile, r.threshold])) as Record<NabProfileName, number>,
    thresholdSource: given ? 'given' : 'optimized',
    profiles,
  };
}
