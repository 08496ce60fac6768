import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../../shared/contract/models.js';
import { EngineFailure } from '../errors.js';
import { decodeModel, encodeModel } from './onnx-writer.js';

/**
 * ONNX change-risk models: parse, repair what we safely can (skl2onnx's ZipMap output), load into
 * onnxruntime, check against the manifest, and score batches. Every failure names the model and,
 * where there is one, the feature or row.
 */

export interface PreparedOnnx {
  bytes: Uint8Array;
  notes: string[];
}

/**
 * skl2onnx ends classifiers in ZipMap, which returns a sequence of maps that onnxruntime-node
 * cannot hand back. The map is built from a plain [N, classes] probability tensor, so the graph
 * is rewired to output that tensor instead, and the ZipMap node is dropped.
 */
export function prepareOnnx(name: string, bytes: Uint8Array): PreparedOnnx {
  let model;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new EngineFailure('input_error', `Model ${name}: the file is not an ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || !graph.node || graph.node.length === 0) throw new EngineFailure('input_error', `Model ${name}: the ONNX file has no graph`);
  const notes: string[] = [];
  const zipmaps = graph.node.filter((n) => n.opType === 'ZipMap');
  if (zipmaps.length === 0) return { bytes, notes };
  for (const zip of zipmaps) {
    const source = zip.input?.[0];
    const target = zip.output?.[0];
    if (!source || !target) continue;
    const output = graph.output?.find((o) => o.name === target);
    if (!output) continue;
    output.name = source;
    output.type = { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimParam: 'classes' }] } } };
    graph.node = graph.node.filter((n) => n !== zip);
    notes.push(`ZipMap output "${target}" was replaced by its probability tensor "${source}" ([N, classes]); name "${source}" as the output in the manifest`);
  }
  return { bytes: encodeModel(graph, model.producerName ?? 'unknown'), notes };
}

export async function loadSession(name: string, bytes: Uint8Array): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (err) {
    throw new EngineFailure('input_error', `Model ${name}: onnxruntime could not load it: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function checkManifest(session: ort.InferenceSession, manifest: ModelManifest, notes: string[]): void {
  const { name } = manifest;
  if (!session.inputNames.includes(manifest.input)) {
    throw new EngineFailure('input_error', `Model ${name}: the manifest names input "${manifest.input}", but the model's inputs are ${session.inputNames.map((n) => `"${n}"`).join(', ')}`);
  }
  if (!session.outputNames.includes(manifest.output)) {
    const hint = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    throw new EngineFailure('input_error', `Model ${name}: the manifest names output "${manifest.output}", but the model's outputs are ${session.outputNames.map((n) => `"${n}"`).join(', ')}${hint}`);
  }
  const meta = (session as unknown as { inputMetadata?: Array<{ name: string; isTensor: boolean; shape?: Array<number | string> }> }).inputMetadata;
  const input = meta?.find((m) => m.name === manifest.input);
  const width = input?.shape?.[1];
  if (typeof width === 'number' && width > 0 && width !== manifest.features.length) {
    throw new EngineFailure('input_error', `Model ${name}: input "${manifest.input}" takes ${width} features per row, but the manifest lists ${manifest.features.length} (${manifest.features.join(', ')})`);
  }
}

export interface BatchScores {
  scores: Float64Array;
  /** per row: null, or why this row has no usable score */
  errors: Array<string | null>;
  /** per row, when the model measured its own latency (prediction logs) */
  latencies?: Float64Array;
}

/** Scores one batch: `matrix` is row-major [rows, features]. */
export async function scoreOnnx(session: ort.InferenceSession, manifest: ModelManifest, matrix: Float32Array, rows: number): Promise<BatchScores> {
  const feed = { [manifest.input]: new ort.Tensor('float32', matrix, [rows, manifest.features.length]) };
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await session.run(feed, [manifest.output]);
  } catch (err) {
    throw new EngineFailure('input_error', `Model ${manifest.name}: inference failed: ${(err as Error).message.split('\n')[0]}`);
  }
  const tensor = result[manifest.output] as ort.Tensor | undefined;
  if (!tensor || !('dims' in tensor)) throw new EngineFailure('input_error', `Model ${manifest.name}: output "${manifest.output}" is not a tensor`);
  const dims = tensor.dims;
  const data = tensor.data as ArrayLike<number>;
  let stride: number;
  let offset = 0;
  if (dims.length === 1 && dims[0] === rows) stride = 1;
  else if (dims.length === 2 && dims[0] === rows && dims[1] === 1) stride = 1;
  else if (dims.length === 2 && dims[0] === rows && dims[1] === 2) {
    stride = 2;
    offset = manifest.column;
  } else {
    throw new EngineFailure('input_error', `Model ${manifest.name}: output "${manifest.output}" has shape [${dims.join(', ')}]; expected [N], [N, 1] or [N, 2] for N = ${rows}`);
  }
  const scores = new Float64Array(rows);
  const errors: Array<string | null> = new Array(rows).fill(null);
  for (let i = 0; i < rows; i++) {
    const v = Number(data[i * stride + offset]);
    scores[i] = v;
    if (!Number.isFinite(v)) errors[i] = `model ${manifest.name} returned ${v} for this change`;
    else if (v < 0 || v > 1) errors[i] = `model ${manifest.name} returned ${v}, outside [0, 1]`;
  }
  return { scores, errors };
}
