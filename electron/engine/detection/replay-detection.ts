import { DetectionRunConfig, type DetectionRunConfigInput, type DetectionRunInfo } from '../../../shared/contract/detection.js';
import { nextRunId } from '../runs/run-ids.js';
import { alertsFromScores } from '../../../shared/detection/alerts.js';
import { explainPeak, runDetector, type DetectorOutput } from '../../../shared/detection/detectors.js';
import * as ort from 'onnxruntime-node';
import type { WindowManifest } from '../../../shared/contract/detection.js';
import { loadSession } from '../models/onnx-model.js';
import { scoreWindows, windowDeviation } from './onnx-detector.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { ks2, psi, psiBand } from '../../../shared/metrics/drift.js';
import { JobCancelled, type JobContext } from '../jobs/jobs.js';
import { OWNER } from '../runs/recovery.js';
import { detectorInputs, detectorOf, type Detector } from '../models/registry.js';
import { applyNanPolicy, FAILED, faultNames, guardSteps, perturbFrame, serviceSeed, staticSpans } from './guard.js';

/**
 * A detection shadow run: every detector scores every service's telemetry in time order, alerts
 * are what its scores would have raised, and both are stored beside what really happened. The
 * whole history up to the end of the range is read, so baselines at the start of the range are
 * warm; only steps inside the range raise alerts and are stored.
 */

const CHUNK = 8192; // steps per stored score blob

interface ServiceRow { id: number; name: string }

/** One service's telemetry for some metrics on one time grid (the union of their timestamps). */
export interface ServiceFrame {
  times: Float64Array;
  values: Float64Array[];
}

/** Reads a service's points for the metrics up to `until`, aligned on the union of their timestamps. */
export function loadFrame(db: Db, serviceId: number, metrics: readonly string[], until: number): ServiceFrame {
  const seriesOf = db.prepare('SELECT id FROM series WHERE service_id = ? AND metric = ? ORDER BY id').pluck();
  // Straight off the primary key (series, time): already in time order, no sort, no grouping. One
  // column per query: plucked numbers cost a quarter of what a [ts, value] array per row does.
  const tsColumn = db.prepare('SELECT ts FROM points WHERE series_id = ? AND ts < ? ORDER BY ts').pluck();
  const valueColumn = db.prepare('SELECT value FROM points WHERE series_id = ? AND ts < ? ORDER BY ts').pluck();
  const scan = db.prepare('SELECT ts, value FROM points WHERE series_id = ? AND ts < ? ORDER BY ts').raw();
  const perMetric = metrics.map((metric) => {
    const ids = seriesOf.all(serviceId, metric) as number[];
    if (ids.length === 1) {
      // One read transaction, so the two columns come from the same snapshot.
      return db.transaction(() => ({ ts: Float64Array.from(tsColumn.all(ids[0], until) as number[]), vs: Float64Array.from(valueColumn.all(ids[0], until) as number[]) }))();
    }
    // Several labelled series of one metric on a service: their mean per time step.
    const sums = new Map<number, [number, number]>();
    for (const id of ids) {
      for (const [t, v] of scan.iterate(id, until) as Iterable<[number, number]>) {
        const acc = sums.get(t);
        if (acc) { acc[0] += v; acc[1]++; } else sums.set(t, [v, 1]);
      }
    }
    const ts = Float64Array.from(sums.keys()).sort();
    return { ts, vs: Float64Array.from(ts, (t) => sums.get(t)![0] / sums.get(t)![1]) };
  });
  const first = perMetric[0];
  // Telemetry exports usually share one grid: then there is nothing to merge.
  if (first && perMetric.every((m) => m.ts.length === first.ts.length && m.ts.every((t, i) => t === first.ts[i]))) {
    return { times: first.ts, values: perMetric.map((m) => m.vs) };
  }
  const all = new Set<number>();
  for (const m of perMetric) for (const t of m.ts) all.add(t);
  const times = Float64Array.from(all).sort();
  const index = new Map<number, number>();
  times.forEach((t, i) => index.set(t, i));
  const values = perMetric.map((m) => {
    const out = new Float64Array(times.length).fill(Number.NaN);
    m.ts.forEach((t, i) => { out[index.get(t)!] = m.vs[i]!; });
    return out;
  });
  return { times, values };
}

function firstIndexAtOrAfter(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A detector log's scores for one service up to `until`, as a detector output on the log's own steps. */
function loggedScores(db: Db, modelId: number, serviceId: number, until: number): { times: Float64Array; out: DetectorOutput } {
  const rows = db.prepare('SELECT ts, score FROM logged_detector_scores WHERE model_id = ? AND service_id = ? AND ts < ? ORDER BY ts').raw().all(modelId, serviceId, until) as [number, number][];
  const times = Float64Array.from(rows, (r) => r[0]);
  const score = Float32Array.from(rows, (r) => r[1]);
  return { times, out: { score, metric: new Uint8Array(rows.length), expected: new Float32Array(rows.length).fill(Number.NaN), spread: new Float32Array(rows.length).fill(Number.NaN) } };
}

/** A window model trained at one sampling interval is refused on telemetry at another. */
function checkStep(manifest: WindowManifest, times: Float64Array, service: string): void {
  const want = manifest.window.stepSeconds;
  if (want === undefined || times.length < 3) return;
  const gaps = Array.from({ length: Math.min(times.length - 1, 1000) }, (_, i) => times[i + 1]! - times[i]!).sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1]! / 1000;
  if (Math.abs(median - want) > 0.01 * want) throw new EngineFailure('input_error', `Model ${manifest.name} expects a step of ${want} s, but ${service}'s telemetry is sampled every ${median} s`);
}

/** Checks a run's detectors before its job starts, so a wrong model id is an immediate, clear error. */
export function checkDetectors(db: Db, ids: readonly number[]): void {
  for (const id of ids) detectorOf(db, id);
}

export async function runDetection(db: Db, input: DetectionRunConfigInput, job: JobContext): Promise<DetectionRunInfo> {
  const config = DetectionRunConfig.parse(input);
  const models = config.models.map((id) => detectorOf(db, id));
  let services = db.prepare('SELECT id, name FROM services ORDER BY name').all() as ServiceRow[];
  if (config.services?.length) {
    const unknown = config.services.filter((s) => !services.some((r) => r.name === s));
    if (unknown.length) throw new EngineFailure('input_error', `Unknown service${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
    services = services.filter((s) => config.services!.includes(s.name));
  }
  const range = db.prepare('SELECT min(ts) AS lo, max(ts) AS hi FROM points').get() as { lo: number | null; hi: number | null };
  if (range.lo === null || range.hi === null) throw new EngineFailure('input_error', 'The workspace has no telemetry to run detectors over; import some first');
  const from = config.from ?? range.lo;
  const until = config.until ?? range.hi + 1;
  if (until <= from) {
    const iso = (t: number): string => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
    // Said in the terms the user gave: a --from past the last telemetry is not an "until" mistake.
    throw new EngineFailure('input_error', config.until === undefined
      ? `The run range is empty: it starts at ${iso(from)}, after the last telemetry (${iso(range.hi)} UTC)`
      : config.from === undefined ? `The run range is empty: it ends at ${iso(until)}, before the first telemetry (${iso(range.lo)} UTC)`
        : 'The run range is empty (until must be after from)');
  }
  const thresholds = models.map((m) => config.thresholds?.[String(m.info.id)] ?? m.info.threshold);
  const runId = db.transaction(() => Number(db.prepare("INSERT INTO detection_runs (id, state, config, models, range_from, range_until, started_at, owner) VALUES (?, 'running', ?, ?, ?, ?, ?, ?)")
    .run(nextRunId(db, 'detection_runs'), JSON.stringify(config), JSON.stringify(models.map((m, i) => ({ id: m.info.id, name: m.info.name, version: m.info.version, sha256: m.info.sha256, threshold: thresholds[i]! }))), from, until, Date.now(), OWNER).lastInsertRowid))();
  const insertAlert = db.prepare('INSERT INTO detection_alerts (run_id, model_id, service_id, start_ts, end_ts, peak_score, explanation) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertScores = db.prepare('INSERT INTO detection_scores (run_id, model_id, service_id, from_ts, until_ts, times, scores, faults) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertFallbackAlert = db.prepare('INSERT OR IGNORE INTO detection_alerts (run_id, model_id, service_id, start_ts, end_ts, peak_score, explanation) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const importedAlerts = db.prepare('SELECT ts, name FROM alerts WHERE service_id = ? AND ts >= ? AND ts < ? ORDER BY ts');
  const cooldownMs = config.cooldownMinutes * 60_000;
  // A guarded run (every drill is one): faults per step, the fallback answering the failed ones.
  const guard = config.guard;
  const drill = config.drill;
  const fallback = typeof config.fallback === 'number' ? detectorOf(db, config.fallback) : null;
  if (fallback?.detector.kind === 'log') throw new EngineFailure('input_error', `The fallback ${fallback.info.name} is a detector log; a fallback must be a detector that can score the telemetry`);
  const fallbackName = fallback ? `${fallback.info.name} v${fallback.info.version}` : config.fallback === 'static-alerts' ? 'the imported alerts' : null;
  const scorers = fallback ? [...models, fallback] : models;
  const metricsNeeded = [...new Set(scorers.flatMap((m) => detectorInputs(m.detector)))];
  const sessions = new Map<number, ort.InferenceSession>();
  let points = 0;
  const driftInputs: NonNullable<DetectionRunInfo['drift']>['inputs'] = [];
  try {
    for (const m of scorers) if (m.detector.kind === 'onnx' && !sessions.has(m.info.id)) sessions.set(m.info.id, await loadSession(m.info.name, m.detector.bytes));
    for (const [k, service] of services.entries()) {
      // Yield between services: progress reaches the UI and a cancel is seen.
      await new Promise((resolve) => setImmediate(resolve));
      job.throwIfCancelled();
      job.progress({ fraction: k / services.length, message: `${service.name}: scoring ${models.length} detector${models.length > 1 ? 's' : ''}`, rows: points });
      const stored = metricsNeeded.length ? loadFrame(db, service.id, metricsNeeded, until) : { times: new Float64Array(0), values: [] };
      const frameStart = firstIndexAtOrAfter(stored.times, from);
      const seed = serviceSeed(drill?.seed ?? config.seed, service.name);
      // What the detectors (and the drift check) read: the telemetry after the drill's faults …
      const perturbed = drill ? perturbFrame(stored, frameStart, metricsNeeded, drill.perturbations, seed) : stored;
      // … and after the runner's own input checks.
      const checked = guard ? applyNanPolicy(perturbed, frameStart, guard.nanPolicy) : null;
      const frame = checked?.frame ?? perturbed;
      metricsNeeded.forEach((metric, i) => {
        const d = inputDrift(perturbed.values[i]!, frameStart);
        if (d) driftInputs.push({ service: service.name, metric, ...d });
      });
      points += Math.max(0, frame.times.length - frameStart) * metricsNeeded.filter((m, i) => frame.values[i]!.some((v) => !Number.isNaN(v))).length;
      // Score first (ONNX inference is asynchronous), then write this service in one transaction.
      // Each detector has its own time grid: the telemetry's, or the steps its log has scores for.
      const outputs: { times: Float64Array; start: number; out: DetectorOutput; thrown: Uint8Array | null; ms: number; faults: Uint8Array | null }[] = [];
      const score = async (info: { id: number }, detector: Detector): Promise<(typeof outputs)[number]> => {
        const pick = detectorInputs(detector).map((m) => frame.values[metricsNeeded.indexOf(m)]!);
        const t0 = performance.now();
        if (detector.kind === 'builtin') return { times: frame.times, start: frameStart, out: runDetector(detector.spec, { times: frame.times, values: pick }), thrown: null, ms: performance.now() - t0, faults: null };
        if (detector.kind === 'onnx') {
          if (frame.times.length - frameStart > 0) checkStep(detector.manifest, frame.times, service.name);
          const out = await scoreWindows(sessions.get(info.id)!, detector.manifest, frame.times, pick, service.name, () => job.cancelled, { guarded: guard !== undefined });
          return { times: frame.times, start: frameStart, out, thrown: out.thrown, ms: performance.now() - t0, faults: null };
        }
        const log = loggedScores(db, info.id, service.id, until);
        points += Math.max(0, log.times.length - firstIndexAtOrAfter(log.times, from));
        return { times: log.times, start: firstIndexAtOrAfter(log.times, from), out: log.out, thrown: null, ms: performance.now() - t0, faults: null };
      };
      for (const { info, detector } of models) outputs.push(await score(info, detector));
      if (guard) {
        const backup = fallback ? await score(fallback.info, fallback.detector) : null;
        outputs.forEach((o, mi) => {
          const names = detectorInputs(models[mi]!.detector);
          const masks = (which: 'impute' | 'refuse'): Uint8Array | null => {
            if (guard.nanPolicy !== which || o.times !== frame.times) return null;
            const mask = new Uint8Array(Math.max(0, o.times.length - o.start));
            for (const m of names) checked!.touched[metricsNeeded.indexOf(m)]!.forEach((v, k) => { if (v) mask[k] = 1; });
            return mask;
          };
          const steps = Math.max(1, o.times.length - o.start);
          const guarded = guardSteps({
            score: o.out.score, thrown: o.thrown, start: o.start, threshold: thresholds[mi]!, guard, perturbations: drill?.perturbations ?? [],
            // One plan per (service, detector) would move with the list of detectors; one per service keeps them comparable.
            seed, imputed: masks('impute'), refused: masks('refuse'), perStepMs: o.ms / steps,
            fallback: config.fallback === 'static-alerts' ? 'static-alerts' : backup && backup.times === o.times ? { score: backup.out.score, threshold: fallback!.info.threshold } : null,
          });
          o.out = { ...o.out, score: guarded.score };
          o.faults = guarded.faults;
        });
      }
      job.throwIfCancelled();
      const store = db.transaction(() => {
        models.forEach(({ info, detector }, mi) => {
          const { times: grid, start, out, faults } = outputs[mi]!;
          if (grid.length - start <= 0) return;
          const names = detectorInputs(detector);
          const pick = names.map((m) => frame.values[metricsNeeded.indexOf(m)]!);
          for (const a of alertsFromScores(grid, out.score, thresholds[mi]!, cooldownMs, start)) {
            const p = a.peakIndex;
            let explanation: string;
            const fault = faults?.[p - start] ?? 0;
            if (fault & FAILED) explanation = `answered by the fallback ${fallbackName} (score ${out.score[p]!.toPrecision(3)} on this detector's scale): the detector failed here (${faultNames(fault & FAILED).join(', ')})`;
            else if (detector.kind === 'builtin') explanation = explainPeak(detector.spec, names[out.metric[p]!]!, pick[out.metric[p]!]![p]!, out.expected[p]!, out.spread[p]!, out.score[p]!);
            else if (detector.kind === 'onnx') {
              const d = windowDeviation(pick, p, detector.manifest.window.length);
              explanation = `window model score ${out.score[p]!.toFixed(3)}; ${names[d.metric]} ${d.value.toPrecision(3)} vs ${d.expected.toPrecision(3)} over the window before it (${d.z.toFixed(1)}σ)`;
            } else explanation = `logged score ${out.score[p]!.toPrecision(3)} (threshold ${thresholds[mi]})`;
            insertAlert.run(runId, info.id, service.id, grid[a.startIndex]!, grid[a.endIndex]!, out.score[p]!, explanation);
          }
          // The imported alerts answer for the spans the detector failed in: theirs become its alerts there.
          if (faults && config.fallback === 'static-alerts') {
            for (const [a, b] of staticSpans(grid, start, faults, until)) {
              for (const alert of importedAlerts.all(service.id, a, b) as { ts: number; name: string }[]) {
                const step = faults[firstIndexAtOrAfter(grid.subarray(start), alert.ts + 1) - 1] ?? 0;
                insertFallbackAlert.run(runId, info.id, service.id, alert.ts, alert.ts, thresholds[mi]!, `answered by the imported alerts: "${alert.name ?? 'an alert'}" fired while the detector failed (${faultNames(step & FAILED).join(', ')})`);
              }
            }
          }
          for (let c = start; c < grid.length; c += CHUNK) {
            const end = Math.min(grid.length, c + CHUNK);
            const times = grid.slice(c, end);
            const scores = out.score.slice(c, end);
            const codes = faults ? faults.slice(c - start, end - start) : null;
            insertScores.run(runId, info.id, service.id, times[0]!, times[times.length - 1]!, Buffer.from(times.buffer), Buffer.from(scores.buffer), codes ? Buffer.from(codes.buffer) : null);
          }
        });
      });
      store();
    }
    const worst = driftInputs.reduce<(typeof driftInputs)[number] | null>((b, x) => (x.psi !== null && (b === null || x.psi > b.psi!) ? x : b), null);
    const drift = driftInputs.length ? { maxPsi: worst?.psi ?? null, worst: worst ? `${worst.service}/${worst.metric}` : null, flag: worst?.band === 'drift', inputs: driftInputs } : null;
    db.prepare("UPDATE detection_runs SET state = 'done', points = ?, finished_at = ?, drift = ? WHERE id = ?").run(points, Date.now(), drift ? JSON.stringify(drift) : null, runId);
    for (const s of sessions.values()) await s.release();
    job.progress({ fraction: 1, message: `scored ${points.toLocaleString('en-US')} points`, rows: points });
  } catch (err) {
    for (const s of sessions.values()) await s.release().catch(() => undefined);
    // A cancelled or failed run leaves nothing half-written behind: its outputs go, its record stays.
    // The state first, on its own: on a full disk the deletes below can fail too, and the run must
    // still say why it stopped (what is left is removed by the next open's recovery).
    db.prepare('UPDATE detection_runs SET state = ?, finished_at = ?, error = ? WHERE id = ?')
      .run(err instanceof JobCancelled ? 'cancelled' : 'failed', Date.now(), err instanceof JobCancelled ? null : (err as Error).message, runId);
    try {
      db.transaction(() => {
        db.prepare('DELETE FROM detection_alerts WHERE run_id = ?').run(runId);
        db.prepare('DELETE FROM detection_scores WHERE run_id = ?').run(runId);
      })();
    } catch {
      // Left for recoverInterrupted, which removes what unfinished runs left behind.
    }
    throw err;
  }
  return getDetectionRun(db, runId);
}

/** Reference: up to the last 50k points before the range; replayed: up to 100k evenly spaced points in it (sorting all of 10M costs more than it tells). */
function inputDrift(values: Float64Array, start: number): { referencePoints: number; psi: number | null; band: 'stable' | 'moderate' | 'drift' | null; ksP: number | null } | null {
  const reference = values.subarray(Math.max(0, start - 50_000), start);
  const inRange = values.subarray(start);
  if (reference.length < 30 || inRange.length === 0) return null;
  const stride = Math.max(1, Math.floor(inRange.length / 100_000));
  const replayed = stride === 1 ? inRange : Float64Array.from({ length: Math.floor(inRange.length / stride) }, (_, i) => inRange[i * stride]!);
  const value = psi(reference, replayed);
  const ks = ks2(reference, replayed);
  return { referencePoints: reference.length, psi: Number.isFinite(value) ? value : null, band: Number.isFinite(value) ? psiBand(value) : null, ksP: Number.isFinite(ks.p) ? ks.p : null };
}

interface RunRow { drift: string | null; id: number; state: DetectionRunInfo['state']; config: string; models: string; points: number; range_from: number | null; range_until: number | null; started_at: number; finished_at: number | null; error: string | null }

function toInfo(r: RunRow): DetectionRunInfo {
  return {
    id: r.id, state: r.state, config: DetectionRunConfig.parse(JSON.parse(r.config)), models: JSON.parse(r.models) as DetectionRunInfo['models'],
    points: r.points, from: r.range_from, until: r.range_until, startedAt: r.started_at, finishedAt: r.finished_at, error: r.error,
    drift: r.drift ? JSON.parse(r.drift) as DetectionRunInfo['drift'] : null,
  };
}

export function getDetectionRun(db: Db, id: number): DetectionRunInfo {
  const r = db.prepare('SELECT * FROM detection_runs WHERE id = ?').get(id) as RunRow | undefined;
  if (!r) throw new EngineFailure('not_found', `No detection run with id ${id}`);
  return toInfo(r);
}

export function listDetectionRuns(db: Db): DetectionRunInfo[] {
  return (db.prepare('SELECT * FROM detection_runs ORDER BY id DESC').all() as RunRow[]).map(toInfo);
}

/** A model's per-step scores for one service in a run, from its stored chunks. */
export function loadScores(db: Db, runId: number, modelId: number, serviceId: number, from?: number, until?: number): { times: Float64Array; scores: Float32Array; faults: Uint8Array | null } {
  const rows = db.prepare(`SELECT times, scores, faults FROM detection_scores WHERE run_id = ? AND model_id = ? AND service_id = ?
    AND until_ts >= ? AND from_ts < ? ORDER BY from_ts`).all(runId, modelId, serviceId, from ?? -8.64e15, until ?? 8.64e15) as { times: Buffer; scores: Buffer; faults: Buffer | null }[];
  const n = rows.reduce((a, r) => a + r.scores.byteLength / 4, 0);
  const times = new Float64Array(n);
  const scores = new Float32Array(n);
  // Only runs with a guard record faults; their chunks all have them.
  const faults = rows.some((r) => r.faults !== null) ? new Uint8Array(n) : null;
  let k = 0;
  for (const r of rows) {
    // Copy out of the Buffers: their offsets need not be aligned for a typed-array view.
    const t = new Float64Array(r.times.buffer.slice(r.times.byteOffset, r.times.byteOffset + r.times.byteLength));
    const s = new Float32Array(r.scores.buffer.slice(r.scores.byteOffset, r.scores.byteOffset + r.scores.byteLength));
    times.set(t, k);
    scores.set(s, k);
    if (faults && r.faults) faults.set(r.faults, k);
    k += s.length;
  }
  return { times, scores, faults };
}
