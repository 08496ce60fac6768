import crypto from 'node:crypto';
import { ModelManifest, type ModelInfo, type ModelManifestInput, type TrainOptions } from '../../../shared/contract/models.js';
import { AddDetector, DEFAULT_DETECTOR_THRESHOLD, RankerManifest, WindowManifest, type AddDetectorInput, type DetectorSpec, type RankerManifestInput, type WindowManifestInput } from '../../../shared/contract/detection.js';
import { checkRankerManifest, rankerMatrix, scoreRows } from '../detection/onnx-ranker.js';
import { checkWindowManifest, scoreWindows } from '../detection/onnx-detector.js';
import { detectorMetrics } from '../../../shared/detection/detectors.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { allFeatures, buildFeatures, featureCatalog, loadChanges } from '../features/catalog.js';
import { labelChanges, type Outcome } from '../features/outcomes.js';
import { heuristicFor } from './heuristic.js';
import { trainLogistic, type LogisticModel } from './logistic.js';
import { binaryInOrder, checkManifest, loadSession, prepareOnnx, type PreparedOnnx } from './onnx-model.js';
import { logisticToOnnx } from './onnx-writer.js';
import { builtinScorer, logScorer, matrixOf, onnxScorer, runnerScorer, type BuiltinParams, type Scorer } from './scorer.js';
import { leaseOnnxThread, onnxHere } from './onnx-thread.js';

/**
 * The model registry: ONNX files with their manifests and the built-in baselines, versioned by
 * name, stored in the workspace with their sha256 so a run can say exactly what it ran.
 */

interface Row { id: number; name: string; version: number; task: string; kind: string; sha256: string; onnx: Buffer | null; manifest: string; notes: string; status: string; created_at: number }

/** What the registry keeps in `manifest` for each kind. */
type Stored =
  | { kind: 'onnx'; manifest: ModelManifest }
  | { kind: 'imported-log'; name: string; logVersion: string; threshold: number; sourceId: number }
  | { kind: 'builtin'; name: string; description: string; threshold: number; params: BuiltinParams; reference: Record<string, number>; trainedOn?: { rows: number; cutoff: number; positives: number; feedbackLabels?: number } }
  | { kind: 'detector'; name: string; description: string; threshold: number; spec: DetectorSpec }
  | { kind: 'onnx-detector'; manifest: WindowManifest }
  | { kind: 'detector-log'; name: string; logVersion: string; threshold: number; sourceId: number }
  | { kind: 'onnx-ranker'; manifest: RankerManifest };

const sha256 = (bytes: Uint8Array | string): string => crypto.createHash('sha256').update(bytes).digest('hex');

/**
 * The same file under the same name and manifest as a model still in use adds nothing but a
 * second entry to choose between, so it is refused; the same file under another name or manifest
 * is a new model and says which one it shares its bytes with.
 */
/** The first note of a model given back instead of added again (and not audited as an addition). */
export const ALREADY_REGISTERED = 'Already registered';

/** Notes on a file already in the registry, or the live version that is this very model (same file, same manifest). */
function duplicateNotes(db: Db, name: string, hash: string, stored: string): { notes: string[]; twin: number | null } {
  const same = db.prepare("SELECT id, name, version, manifest, status FROM models WHERE sha256 = ? ORDER BY id").all(hash) as Array<Pick<Row, 'id' | 'name' | 'version' | 'manifest' | 'status'>>;
  const twin = same.find((r) => r.name === name && r.manifest === stored && r.status !== 'retired');
  if (twin) return { notes: [], twin: twin.id };
  return { notes: same.length > 0 ? [`Same file (sha256 ${hash.slice(0, 12)}…) as ${same.map((r) => `${r.name} v${r.version}`).join(', ')}`] : [], twin: null };
}

function nextVersion(db: Db, name: string): number {
  return ((db.prepare('SELECT max(version) FROM models WHERE name = ?').pluck().get(name) as number | null) ?? 0) + 1;
}

function describe(row: Row): Omit<ModelInfo, 'role'> {
  const stored = JSON.parse(row.manifest) as Stored;
  if (stored.kind === 'imported-log') {
    return {
      id: row.id, name: row.name, version: row.version, task: 'change-risk', kind: 'imported-log', builtin: null, sha256: row.sha256,
      status: row.status as ModelInfo['status'], features: [], threshold: stored.threshold,
      description: `Scores logged by ${stored.name} ${stored.logVersion} in a shadow deployment (source #${stored.sourceId})`,
      createdAt: row.created_at, notes: [], trainedUntil: null,
    };
  }
  if (stored.kind === 'onnx-ranker') {
    return {
      id: row.id, name: row.name, version: row.version, task: 'attribution', kind: 'onnx', builtin: null, sha256: row.sha256,
      status: row.status as ModelInfo['status'], features: stored.manifest.features, threshold: 0,
      description: stored.manifest.description || `ONNX ranking model over ${stored.manifest.features.join(', ')}`,
      createdAt: row.created_at, notes: JSON.parse(row.notes) as string[], trainedUntil: null,
    };
  }
  if (stored.kind === 'detector-log') {
    return {
      id: row.id, name: row.name, version: row.version, task: 'detection', kind: 'imported-log', builtin: null, sha256: row.sha256,
      status: row.status as ModelInfo['status'], features: [], threshold: stored.threshold,
      description: `Scores logged by detector ${stored.name} ${stored.logVersion} in a shadow deployment (source #${stored.sourceId})`,
      createdAt: row.created_at, notes: [], trainedUntil: null,
    };
  }
  if (stored.kind === 'onnx-detector') {
    const w = stored.manifest.window;
    return {
      id: row.id, name: row.name, version: row.version, task: 'detection', kind: 'onnx', builtin: null, sha256: row.sha256,
      status: row.status as ModelInfo['status'], features: w.metrics, threshold: stored.manifest.threshold,
      description: stored.manifest.description || `ONNX window model over ${w.metrics.join(', ')}: ${w.length} steps, ${w.normalisation} per window`,
      createdAt: row.created_at, notes: JSON.parse(row.notes) as string[], trainedUntil: null,
    };
  }
  if (stored.kind === 'detector') {
    return {
      id: row.id, name: row.name, version: row.version, task: 'detection', kind: 'builtin', builtin: null, sha256: row.sha256,
      status: row.status as ModelInfo['status'], features: detectorMetrics(stored.spec), threshold: stored.threshold,
      description: stored.description, createdAt: row.created_at, notes: [], trainedUntil: null,
    };
  }
  const features = stored.kind === 'onnx' ? stored.manifest.features : stored.params.features;
  return {
    id: row.id, name: row.name, version: row.version, task: 'change-risk', kind: row.kind as ModelInfo['kind'],
    builtin: stored.kind === 'builtin' ? (stored.params.kind === 'heuristic' ? 'heuristic' : stored.params.features.length === 1 ? 'single-feature' : 'logistic') : null,
    sha256: row.sha256, status: row.status as ModelInfo['status'], features,
    threshold: stored.kind === 'onnx' ? stored.manifest.threshold : stored.threshold,
    description: stored.kind === 'onnx' ? stored.manifest.description : stored.description,
    createdAt: row.created_at, notes: JSON.parse(row.notes) as string[],
    trainedUntil: stored.kind === 'onnx' ? stored.manifest.trainedUntil ?? null : stored.params.kind === 'logistic' && stored.trainedOn ? stored.trainedOn.cutoff : null,
  };
}


/** Registers a built-in detector (static threshold, rolling z-score, EWMA, week-over-week) as a detection model. */
export function addDetector(db: Db, input: AddDetectorInput): ModelInfo {
  const parsed = AddDetector.parse(input);
  // As for ONNX detectors: a metric the workspace has none of would score nothing and read as "no alerts".
  const known = new Set(db.prepare('SELECT DISTINCT metric FROM series').pluck().all() as string[]);
  const unknown = detectorMetrics(parsed.spec).filter((m) => !known.has(m));
  if (known.size > 0 && unknown.length) throw new EngineFailure('input_error', `Detector ${parsed.name}: the workspace has no metric ${unknown.join(', ')}. Metrics: ${[...known].sort().join(', ')}`);
  const threshold = parsed.threshold ?? DEFAULT_DETECTOR_THRESHOLD[parsed.spec.kind];
  const description = parsed.description || describeDetector(parsed.spec);
  const stored: Stored = { kind: 'detector', name: parsed.name, description, threshold, spec: parsed.spec };
  const json = JSON.stringify(stored);
  const id = Number(db.prepare(`INSERT INTO models (name, version, task, kind, sha256, onnx, manifest, notes, created_at) VALUES (?, ?, 'detection', 'builtin', ?, NULL, ?, '[]', ?)`)
    .run(parsed.name, nextVersion(db, parsed.name), sha256(json), json, Date.now()).lastInsertRowid);
  return getModel(db, id);
}

function describeDetector(spec: DetectorSpec): string {
  if (spec.kind === 'static') return `Static threshold: ${spec.metric} ${spec.direction} ${spec.value} for ${spec.steps} steps`;
  const on = spec.metrics.join(', ');
  if (spec.kind === 'zscore') return `Rolling z-score of ${on} against the previous ${spec.window} steps`;
  if (spec.kind === 'ewma') return `EWMA deviation of ${on} (alpha ${spec.alpha})`;
  return `Deviation of ${on} from the same time last week`;
}

export type Detector = { kind: 'builtin'; spec: DetectorSpec } | { kind: 'onnx'; manifest: WindowManifest; bytes: Uint8Array } | { kind: 'log' };

/** The telemetry metrics a detector reads (a detector log reads none). */
export function detectorInputs(d: Detector): string[] {
  return d.kind === 'builtin' ? detectorMetrics(d.spec) : d.kind === 'onnx' ? d.manifest.window.metrics : [];
}

/** A detection model: a built-in's spec, or an ONNX window model's manifest and file. */
export function detectorOf(db: Db, id: number): { info: ModelInfo; detector: Detector } {
  const r = row(db, id);
  const stored = JSON.parse(r.manifest) as Stored;
  if (stored.kind === 'detector') return { info: toInfo(r), detector: { kind: 'builtin', spec: stored.spec } };
  if (stored.kind === 'onnx-detector') return { info: toInfo(r), detector: { kind: 'onnx', manifest: stored.manifest, bytes: new Uint8Array(r.onnx!) } };
  if (stored.kind === 'detector-log') return { info: toInfo(r), detector: { kind: 'log' } };
  throw new EngineFailure('input_error', `Model ${r.name} v${r.version} is a ${r.task} model, not a detector`.replace(' a attribution', ' an attribution'));
}

/** An attribution ranking model's manifest and file. */
export function rankerOf(db: Db, id: number): { info: ModelInfo; manifest: RankerManifest; bytes: Uint8Array } {
  const r = row(db, id);
  const stored = JSON.parse(r.manifest) as Stored;
  if (stored.kind !== 'onnx-ranker') throw new EngineFailure('input_error', `Model ${r.name} v${r.version} is a ${r.task} model, not an attribution ranker`);
  return { info: toInfo(r), manifest: stored.manifest, bytes: new Uint8Array(r.onnx!) };
}

/** Registers an ONNX ranking model for attribution, after a trial inference on synthetic candidates. */
export async function addOnnxRanker(db: Db, bytes: Uint8Array, manifestInput: RankerManifestInput): Promise<ModelInfo> {
  const parsed = RankerManifest.safeParse(manifestInput);
  if (!parsed.success) throw new EngineFailure('bad_request', `The manifest is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; ')}`);
  const manifest = parsed.data;
  const prepared = prepareOnnx(manifest.name, bytes);
  const session = await loadSession(manifest.name, prepared.bytes);
  try {
    checkRankerManifest(session, manifest);
    const trial = [{ service: 'a', started: 3_600_000, dependsOn: new Set<string>(), candidates: [
      { id: 'x', service: 'a', ts: 0, size: 10, files: 1, risk: {} }, { id: 'y', service: 'b', ts: 60_000, size: 500, files: 9, risk: {} },
    ] }];
    await scoreRows(session, manifest, rankerMatrix(manifest, trial));
  } finally {
    await session.release();
  }
  return insertOnnx(db, 'attribution', manifest.name, prepared, { kind: 'onnx-ranker', manifest });
}

/** Stores a checked ONNX model as the next version of its name. */
function insertOnnx(db: Db, task: 'change-risk' | 'attribution' | 'detection', name: string, prepared: { bytes: Uint8Array; notes: string[] }, stored: Stored, reuse = false): ModelInfo {
  const hash = sha256(prepared.bytes);
  const json = JSON.stringify(stored);
  const duplicate = duplicateNotes(db, name, hash, json);
  if (duplicate.twin !== null) {
    const twin = getModel(db, duplicate.twin);
    if (!reuse) throw new EngineFailure('conflict', `Model ${name} v${twin.version} is already this file with this manifest (sha256 ${hash.slice(0, 12)}…); nothing added. Change the manifest, use another name, or retire v${twin.version} first`);
    return { ...twin, notes: [`${ALREADY_REGISTERED} as ${name} v${twin.version} (the same file and manifest); nothing added`, ...twin.notes] };
  }
  const notes = [...prepared.notes, ...duplicate.notes];
  const id = Number(db.prepare(`INSERT INTO models (name, version, task, kind, sha256, onnx, manifest, notes, created_at) VALUES (?, ?, ?, 'onnx', ?, ?, ?, ?, ?)`)
    .run(name, nextVersion(db, name), task, hash, Buffer.from(prepared.bytes), json, JSON.stringify(notes), Date.now()).lastInsertRowid);
  return getModel(db, id);
}

/**
 * Registers an ONNX window detector. The file must load, its input and output must match the
 * manifest, and a trial inference on a synthetic window must give finite scores.
 */
export async function addOnnxDetector(db: Db, bytes: Uint8Array, manifestInput: WindowManifestInput): Promise<ModelInfo> {
  const parsed = WindowManifest.safeParse(manifestInput);
  if (!parsed.success) throw new EngineFailure('bad_request', `The manifest is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; ')}`);
  const manifest = parsed.data;
  const prepared = prepareOnnx(manifest.name, bytes);
  const known = new Set(db.prepare('SELECT DISTINCT metric FROM series').pluck().all() as string[]);
  const unknown = manifest.window.metrics.filter((m) => !known.has(m));
  if (known.size > 0 && unknown.length) throw new EngineFailure('input_error', `Model ${manifest.name}: the workspace has no metric ${unknown.join(', ')}. Metrics: ${[...known].sort().join(', ')}`);
  const session = await loadSession(manifest.name, prepared.bytes);
  try {
    checkWindowManifest(session, manifest);
    const w = manifest.window.length;
    const times = Float64Array.from({ length: w + 3 }, (_, i) => i * 60_000);
    const values = manifest.window.metrics.map(() => Float64Array.from(times, (_, i) => 10 + (i % 5)));
    await scoreWindows(session, manifest, times, values, 'a trial window');
  } finally {
    await session.release();
  }
  return insertOnnx(db, 'detection', manifest.name, prepared, { kind: 'onnx-detector', manifest });
}

/**
 * Labels people gave through feedback, per change (the latest judgement wins): agreeing keeps the
 * model's decision, disagreeing flips it, an override states it.
 */
export function feedbackLabels(db: Db): Map<number, 0 | 1> {
  const rows = db.prepare(`SELECT f.change_id, f.verdict, f.decision, s.decision AS model_decision FROM feedback f
    JOIN suggestions s ON s.run_id = f.run_id AND s.model_id = f.model_id AND s.change_id = f.change_id ORDER BY f.ts, f.id`).all() as { change_id: number; verdict: string; decision: number | null; model_decision: number | null }[];
  const out = new Map<number, 0 | 1>();
  for (const r of rows) {
    const label = r.verdict === 'override' ? r.decision : r.model_decision === null ? null : r.verdict === 'agree' ? r.model_decision : 1 - r.model_decision;
    if (label === 0 || label === 1) out.set(r.change_id, label);
  }
  return out;
}

/** The training settings of a trained built-in, to train its next version the same way. */
export function trainingOf(db: Db, id: number): { kind: 'logistic' | 'single-feature'; features: string[]; C: number; log1p: boolean; cutoff: number | null } {
  const r = row(db, id);
  const stored = JSON.parse(r.manifest) as Stored;
  if (stored.kind !== 'builtin' || stored.params.kind === 'heuristic') throw new EngineFailure('input_error', `Model ${r.name} v${r.version} is not a trained built-in; only those retrain in-app`);
  const p = stored.params;
  return { kind: p.features.length === 1 ? 'single-feature' : 'logistic', features: p.features, C: (p as { C?: number }).C ?? 1, log1p: p.log1p, cutoff: stored.trainedOn?.cutoff ?? null };
}

/** The change-risk champion's id (kept in meta by the roles methods). */
export function championId(db: Db): number | null {
  const v = db.prepare("SELECT value FROM meta WHERE key = 'champion.change-risk'").pluck().get() as string | undefined;
  return v === undefined || v === 'none' ? null : Number(v);
}

function toInfo(row: Row, champion: number | null = null): ModelInfo {
  const info = describe(row);
  return { ...info, role: info.status === 'retired' ? 'retired' : info.id === champion ? 'champion' : 'challenger' };
}

export function listModels(db: Db): ModelInfo[] {
  const champion = championId(db);
  return (db.prepare('SELECT * FROM models ORDER BY name, version').all() as Row[]).map((r) => toInfo(r, champion));
}

function row(db: Db, id: number): Row {
  const r = db.prepare('SELECT * FROM models WHERE id = ?').get(id) as Row | undefined;
  if (!r) throw new EngineFailure('not_found', `No model with id ${id}`);
  return r;
}

export function getModel(db: Db, id: number): ModelInfo {
  return toInfo(row(db, id), championId(db));
}

export function retireModel(db: Db, id: number, actor = 'unknown'): ModelInfo & { wasChampion: boolean } {
  const m = getModel(db, id);
  if (m.status === 'retired') throw new EngineFailure('conflict', `Model ${m.name} v${m.version} is already retired`);
  const wasChampion = championId(db) === id;
  db.transaction(() => {
    db.prepare("UPDATE models SET status = 'retired' WHERE id = ?").run(id);
    db.prepare("INSERT INTO model_events (model_id, role, actor, ts, note) VALUES (?, 'retired', ?, ?, ?)").run(id, actor, Date.now(), wasChampion ? 'was the champion: the task has none now' : '');
    // A retired champion leaves the task without one; `roles.revert` brings the previous back.
    if (wasChampion) db.prepare("UPDATE meta SET value = 'none' WHERE key = 'champion.change-risk'").run();
  })();
  return { ...getModel(db, id), wasChampion };
}

/** Medians of each feature over the workspace's changes: the reference row for explanations. */
function medians(names: string[], rows: number[][]): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, j) => {
    const values = rows.map((r) => r[j]!).sort((a, b) => a - b);
    out[name] = values.length === 0 ? 0 : values[Math.floor(values.length / 2)]!;
  });
  return out;
}

function checkFeatures(db: Db, name: string, features: string[]): void {
  const catalog = featureCatalog(db);
  const available = new Set<string>(allFeatures(catalog));
  const missing = features.filter((f) => !available.has(f));
  if (missing.length > 0) {
    throw new EngineFailure('input_error', `Model ${name}: the workspace has no feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. Available: ${allFeatures(catalog).join(', ')}`, { missing, available: [...available] });
  }
}

export async function addOnnxModel(db: Db, bytes: Uint8Array, manifestInput: ModelManifestInput, options: { reuse?: boolean } = {}): Promise<ModelInfo> {
  const parsedManifest = ModelManifest.safeParse(manifestInput);
  if (!parsedManifest.success) throw new EngineFailure('bad_request', `The manifest is not valid: ${parsedManifest.error.issues.map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`).join('; ')}`);
  let manifest = parsedManifest.data;
  const prepared = prepareOnnx(manifest.name, bytes);
  // A manifest written for the skl2onnx file names the ZipMap output; point it at the tensor.
  const renamed = prepared.notes.length > 0 ? /ZipMap output "([^"]+)" was replaced by its probability tensor "([^"]+)"/.exec(prepared.notes.join('\n')) : null;
  if (renamed && manifest.output === renamed[1]) manifest = { ...manifest, output: renamed[2]! };
  manifest = { ...manifest, column: riskColumn(manifest, prepared) };
  // The same file and manifest as a live version, asked to reuse it (a CI job run again): that
  // version, found before any of the work below. Judged on the manifest as given: the reference
  // the registry filled in from the workspace's medians moves with every import.
  if (options.reuse) {
    const twin = reusableTwin(db, manifest, sha256(prepared.bytes), parsedManifest.data.reference !== undefined);
    if (twin) return { ...twin, notes: [`${ALREADY_REGISTERED} as ${twin.name} v${twin.version} (the same file and manifest); nothing added`, ...twin.notes] };
  }
  const strays = Object.keys(manifest.reference ?? {}).filter((f) => !manifest.features.includes(f));
  if (strays.length > 0) throw new EngineFailure('bad_request', `Model ${manifest.name}: the manifest's reference names ${strays.map((f) => `"${f}"`).join(', ')}, which ${strays.length === 1 ? 'is not a feature' : 'are not features'} of the model (${manifest.features.join(', ')})`);
  const session = await loadSession(manifest.name, prepared.bytes);
  try {
    checkManifest(session, manifest, prepared.notes);
    checkFeatures(db, manifest.name, manifest.features);
    const scorer = onnxScorer(0, manifest, session);
    // A trial inference on real rows: the model must produce usable numbers here, not just load.
    const all = loadChanges(db);
    if (all.length > 0) {
      const rows = buildFeatures(db, all, manifest.features, labelChanges(db, undefined, all), all);
      const changes = all.slice(0, 64);
      const trial = await scorer.score(matrixOf(rows.slice(0, 64), manifest.features.length));
      const bad = trial.errors.findIndex((e) => e !== null);
      if (bad >= 0) throw new EngineFailure('input_error', `Model ${manifest.name}: trial inference on change ${changes[bad]!.externalId} failed: ${trial.errors[bad]}`);
      // Reference values the manifest leaves out are the workspace's medians, never 0 (an hour of
      // 0 is midnight; a "typical" change of 0 lines made every change look large).
      const median = medians(manifest.features, rows);
      const missing = manifest.features.filter((f) => manifest.reference?.[f] === undefined);
      if (manifest.reference && missing.length > 0) prepared.notes.push(`The manifest's reference leaves out ${missing.join(', ')}: the workspace's medians are used for ${missing.length === 1 ? 'it' : 'them'}`);
      manifest = { ...manifest, reference: { ...median, ...manifest.reference } };
    }
  } finally {
    await session.release();
  }
  return insertOnnx(db, 'change-risk', manifest.name, prepared, { kind: 'onnx', manifest }, options.reuse);
}

/**
 * Which probability column is the risk, from the classifier's class labels: 0/1 (or false/true) say
 * it themselves; any other labels need the manifest to name the positive class, since sklearn sorts
 * them ("buggy" before "clean") and the default column 1 would score every change by how safe it is.
 */
function riskColumn(manifest: ModelManifest, prepared: PreparedOnnx): number {
  const labels = prepared.classLabels;
  const named = (l: readonly string[]): string => l.map((c, i) => `"${c}" (column ${i})`).join(', ');
  if (!labels) {
    if (manifest.positiveClass !== undefined) throw new EngineFailure('bad_request', `Model ${manifest.name}: the manifest names positiveClass "${manifest.positiveClass}", but the model carries no class labels; give "column" instead`);
    return manifest.column;
  }
  if (labels.length !== 2) throw new EngineFailure('input_error', `Model ${manifest.name}: a classifier of ${labels.length} classes (${named(labels)}); a change-risk model scores two: risky or not`);
  if (manifest.positiveClass !== undefined) {
    const column = labels.indexOf(manifest.positiveClass);
    if (column < 0) throw new EngineFailure('bad_request', `Model ${manifest.name}: positiveClass "${manifest.positiveClass}" is not one of its classes, ${named(labels)}`);
    prepared.notes.push(`The risk is the probability of class "${manifest.positiveClass}" (column ${column})`);
    return column;
  }
  if (binaryInOrder(labels)) {
    if (manifest.column !== 1) prepared.notes.push(`Column ${manifest.column} is class "${labels[manifest.column]}": the probability of the negative class, as the manifest asks`);
    return manifest.column;
  }
  throw new EngineFailure('input_error', `Model ${manifest.name}: its classes are ${named(labels)}, so which column is the risk cannot be assumed; add "positiveClass": "${labels[0]}" (or whichever class means an incident) to the manifest`);
}

/** A live version with this file and this manifest (its filled-in reference aside, unless one was given). */
function reusableTwin(db: Db, manifest: ModelManifest, hash: string, referenceGiven: boolean): ModelInfo | null {
  // Keys sorted at every level, so the order a manifest was written in does not matter.
  const same = (m: ModelManifest): string => JSON.stringify({ ...m, reference: referenceGiven ? m.reference : undefined },
    (_, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
  const rows = db.prepare("SELECT id, manifest FROM models WHERE name = ? AND sha256 = ? AND status != 'retired' ORDER BY version DESC").all(manifest.name, hash) as Array<{ id: number; manifest: string }>;
  for (const r of rows) {
    const stored = JSON.parse(r.manifest) as Stored;
    if (stored.kind === 'onnx' && same(stored.manifest) === same(manifest)) return getModel(db, r.id);
  }
  return null;
}

/** A change's label as it was known at `cutoff`: explicit labels carry no date and count as known. */
const knownBy = (o: Outcome, cutoff: number): 0 | 1 => (o.label === 1 && (o.knownAt === null || o.knownAt < cutoff) ? 1 : 0);

/**
 * A feature that puts every failure on one side of a cut and every other change on the other is
 * not a signal but the outcome itself under another name, or something recorded after the fact
 * (JIT data's `__` column is its label again). A model trained on it scores AUC 1.000 and would be
 * useless before a deploy; refused by name, with how to leave it out.
 */
function refuseLabelCopies(name: string, features: readonly string[], rows: readonly number[][], labels: readonly number[]): void {
  const positives = labels.filter((l) => l === 1).length;
  // With a handful of failures (a rare yes/no flag) a perfect split can be chance; then it is left to the scorecard.
  if (positives < 20 || labels.length - positives < 20) return;
  features.forEach((feature, j) => {
    let posMin = Infinity, posMax = -Infinity, negMin = Infinity, negMax = -Infinity;
    rows.forEach((r, i) => {
      const v = r[j]!;
      if (labels[i] === 1) { posMin = Math.min(posMin, v); posMax = Math.max(posMax, v); } else { negMin = Math.min(negMin, v); negMax = Math.max(negMax, v); }
    });
    if (posMin > negMax || posMax < negMin) {
      const [side, cut] = posMin > negMax ? ['above', negMax] : ['below', negMin];
      throw new EngineFailure('input_error', `Cannot train ${name}: ${feature} separates the outcome perfectly on the ${labels.length} training changes (every failure is ${side} ${cut}, no other change is): it is the outcome under another name or recorded after the fact. Leave it out: name the features to train on${features.length > 1 ? ` (e.g. ${features.filter((f) => f !== feature).slice(0, 4).join(', ')}${features.length > 5 ? ', …' : ''})` : ''}, or ignore its column at import (--map ${feature}=ignore)`);
    }
  });
}

/** Trains (or, for the heuristic, configures) a built-in on changes before the cutoff. */
export function trainBuiltin(db: Db, options: TrainOptions): ModelInfo {
  const catalog = featureCatalog(db);
  const changes = loadChanges(db);
  if (changes.length === 0) throw new EngineFailure('input_error', 'The workspace has no changes to train on');
  const outcomes = labelChanges(db, undefined, changes);
  const cutoff = options.cutoff ?? changes[Math.floor(changes.length * 0.7)]!.ts;
  const train = changes.filter((c) => c.ts < cutoff);
  let feedbackUsed = 0;
  const sizeFeature = ['lines_added', 'la', 'additions', 'lines'].find((f) => catalog.attributes.includes(f));
  let params: BuiltinParams;
  let description: string;
  let threshold = options.threshold ?? 0.5;
  if (options.kind === 'heuristic') {
    if (!sizeFeature) throw new EngineFailure('input_error', 'The heuristic needs a change-size attribute (lines_added or la); the changes have none');
    params = heuristicFor(sizeFeature);
    description = 'Heuristic risk rules: large change, off-hours, weekend, recent incidents, tier-1 service';
    threshold = options.threshold ?? 0.3;
  } else {
    const features = options.features ?? (options.kind === 'single-feature' ? (sizeFeature ? [sizeFeature] : []) : [...catalog.history, ...catalog.attributes]);
    if (features.length === 0) throw new EngineFailure('input_error', 'No features to train on; name them with features');
    if (options.kind === 'single-feature' && features.length !== 1) throw new EngineFailure('input_error', `A single-feature model takes exactly one feature, not ${features.length} (${features.join(', ')})`);
    checkFeatures(db, options.name, features);
    if (train.length < 20) throw new EngineFailure('input_error', `Only ${train.length} changes before the cutoff ${new Date(cutoff).toISOString()}; train on a later cutoff`);
    const rows = buildFeatures(db, train, features, outcomes, changes);
    const human = options.useFeedback ? feedbackLabels(db) : new Map<number, 0 | 1>();
    // As of the cutoff: a failure only known later (its incident detected after it) was not a
    // failure anyone could have trained on then; learning it leaks the evaluation period's knowledge.
    const labels = train.map((c) => human.get(c.id) ?? knownBy(outcomes.get(c.id)!, cutoff));
    feedbackUsed = train.filter((c) => human.has(c.id)).length;
    refuseLabelCopies(options.name, features, rows, labels);
    let model: LogisticModel;
    try {
      model = trainLogistic(features, rows, labels, { C: options.C, log1p: options.kind === 'single-feature' ? false : options.log1p });
    } catch (err) {
      throw new EngineFailure('input_error', `Cannot train ${options.name}: ${(err as Error).message}`);
    }
    params = model;
    description = (options.kind === 'single-feature'
      ? `Single feature (${features[0]}), logistic fit: the "LApredict" baseline`
      : `Logistic regression (L2, C=${options.C}${options.log1p ? ', log1p' : ''}) on ${features.length} features`)
      + (options.useFeedback ? `; ${feedbackUsed} labels from human feedback` : '');
    if (options.threshold === undefined) {
      // Default to the training base rate: a 0.5 cut flags almost nothing when failures are rare.
      threshold = Math.round((labels.reduce<number>((a, b) => a + b, 0) / labels.length) * 1000) / 1000;
    }
  }
  const reference = medians(params.features, buildFeatures(db, train.length > 0 ? train : changes, params.features, outcomes, changes));
  const stored: Stored = {
    kind: 'builtin', name: options.name, description, threshold, params, reference,
    trainedOn: { rows: train.length, cutoff, positives: train.filter((c) => knownBy(outcomes.get(c.id)!, cutoff) === 1).length, feedbackLabels: feedbackUsed },
  };
  const json = JSON.stringify(stored);
  const id = Number(db.prepare(`INSERT INTO models (name, version, task, kind, sha256, onnx, manifest, notes, created_at) VALUES (?, ?, 'change-risk', 'builtin', ?, NULL, ?, '[]', ?)`)
    .run(options.name, nextVersion(db, options.name), sha256(json), json, Date.now()).lastInsertRowid);
  return getModel(db, id);
}

/** The ONNX file of a model: the stored file for ONNX models, an export for the logistic built-ins. */
export function exportOnnx(db: Db, id: number): { bytes: Uint8Array; manifest: ModelManifest } {
  const r = row(db, id);
  const stored = JSON.parse(r.manifest) as Stored;
  if (stored.kind === 'onnx') return { bytes: new Uint8Array(r.onnx!), manifest: stored.manifest };
  if (stored.kind === 'imported-log') throw new EngineFailure('input_error', `Model ${r.name} is a prediction log; there is no model file to export`);
  if (stored.kind === 'detector') throw new EngineFailure('input_error', `Model ${r.name} is a built-in detector; there is no model file to export`);
  if (stored.kind === 'onnx-detector' || stored.kind === 'detector-log' || stored.kind === 'onnx-ranker') throw new EngineFailure('input_error', `Model ${r.name} is a ${r.task} model; export writes change-risk models`);
  if (stored.params.kind !== 'logistic') throw new EngineFailure('input_error', `Model ${r.name} is the heuristic rules; only trained models export to ONNX`);
  return {
    bytes: logisticToOnnx(stored.params),
    // The training cutoff goes with the file: re-imported, the model is still warned about (and kept
    // from by --from after-training) the changes it was trained on.
    manifest: ModelManifest.parse({
      name: r.name, description: stored.description, input: 'features', features: stored.params.features, output: 'risk', threshold: stored.threshold, reference: stored.reference,
      ...(stored.trainedOn ? { trainedUntil: stored.trainedOn.cutoff } : {}),
    }),
  };
}

export interface LoadedScorer {
  scorer: Scorer;
  reference: number[];
  mitigations: Record<string, string>;
  /** Settles when the model can score; rejects with why it cannot (an ONNX session that fails to load). */
  ready: Promise<void>;
  /** It scores on a thread of its own: batches handed to it queue there while this thread goes on. */
  readonly threaded: boolean;
  release: () => Promise<void>;
}

/**
 * A model ready to score. `onThread`: an ONNX model's session goes on a thread of its own
 * (onnx-thread.ts), created in the background, so that a replay can load changes meanwhile; await
 * `ready` before scoring. Otherwise the session exists when this returns, unless `deferReady` (a
 * replay awaits `ready` where a model that cannot load fails the run it has recorded).
 */
export async function loadScorer(db: Db, id: number, options: { onThread?: boolean; deferReady?: boolean } = {}): Promise<LoadedScorer> {
  const r = row(db, id);
  const stored = JSON.parse(r.manifest) as Stored;
  const ready = Promise.resolve();
  if (stored.kind === 'onnx') {
    const ref = stored.manifest.reference ?? {};
    const bytes = new Uint8Array(r.onnx!);
    const runner = options.onThread ? leaseOnnxThread(`${r.sha256}:${JSON.stringify(stored.manifest)}`, stored.manifest, bytes) : onnxHere(stored.manifest, bytes);
    if (!options.onThread && !options.deferReady) await runner.ready;
    return {
      scorer: runnerScorer(id, stored.manifest, runner.run), reference: stored.manifest.features.map((f) => ref[f] ?? 0),
      mitigations: stored.manifest.mitigations ?? {}, ready: runner.ready, release: () => runner.release(),
      get threaded() {
        return runner.threaded;
      },
    };
  }
  if (stored.kind === 'imported-log') {
    const lookup = db.prepare('SELECT score, latency_ms FROM logged_scores WHERE model_id = ? AND subject = ?');
    return {
      scorer: logScorer(id, r.name, stored.threshold, (subject) => lookup.get(id, subject) as { score: number; latency_ms: number | null } | undefined),
      reference: [], mitigations: {}, ready, threaded: false, release: async () => undefined,
    };
  }
  if (stored.kind === 'detector' || stored.kind === 'onnx-detector' || stored.kind === 'detector-log' || stored.kind === 'onnx-ranker') throw new EngineFailure('input_error', `Model ${r.name} is a ${r.task} model; it does not score changes for risk`);
  return {
    scorer: builtinScorer(id, r.name, stored.params, stored.threshold), reference: stored.params.features.map((f) => stored.reference[f] ?? 0),
    mitigations: {}, ready, threaded: false, release: async () => undefined,
  };
}
