import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../../shared/contract/models.js';
import { EngineFailure } from '../errors.js';
import type { onnx as Onnx } from 'onnx-proto';
import { decodeModel, encodeModel } from './onnx-writer.js';

/**
 * ONNX change-risk models: parse, repair what we safely can (skl2onnx's ZipMap output), load into
 * onnxruntime, check against the manifest, and score batches. Every failure names the model and,
 * where there is one, the feature or row.
 */

export interface PreparedOnnx {
  bytes: Uint8Array;
  notes: string[];
  /**
   * A classifier's class labels in the order of its probability columns (from skl2onnx's ZipMap, or
   * the classifier node): which column is "risk" depends on them, and sklearn sorts them, so a
   * model trained on "buggy"/"clean" has P(clean) in column 1.
   */
  classLabels: string[] | null;
}

/** Class labels a ZipMap or an ai.onnx.ml classifier node carries, as text. */
function labelsOf(node: Onnx.INodeProto): string[] | null {
  for (const a of node.attribute ?? []) {
    if (a.name === 'classlabels_strings' && (a.strings?.length ?? 0) > 0) return a.strings!.map((b) => new TextDecoder().decode(b));
    if ((a.name === 'classlabels_int64s' || a.name === 'classlabels_ints') && (a.ints?.length ?? 0) > 0) return a.ints!.map((i) => String(i));
  }
  return null;
}

/** Labels that say themselves which class is the positive one: 0/1 or false/true, in that order. */
export function binaryInOrder(labels: readonly string[]): boolean {
  return labels.length === 2 && ((labels[0] === '0' && labels[1] === '1') || (labels[0]!.toLowerCase() === 'false' && labels[1]!.toLowerCase() === 'true'));
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
  refuseExternalData(name, model);
  const notes: string[] = [];
  const zipmaps = graph.node.filter((n) => n.opType === 'ZipMap');
  const classifiers = graph.node.filter((n) => /Classifier$/.test(n.opType ?? '') && n.domain === 'ai.onnx.ml');
  const classLabels = (zipmaps.length === 1 ? labelsOf(zipmaps[0]!) : null) ?? (classifiers.length === 1 ? labelsOf(classifiers[0]!) : null);
  if (zipmaps.length === 0) return { bytes, notes, classLabels };
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
  return { bytes: encodeModel(graph, model.producerName ?? 'unknown'), notes, classLabels };
}

/**
 * ONNX lets a tensor keep its values in a separate file ("external data"), which onnxruntime
 * reads from a path relative to the process's working directory even when the model comes from
 * memory. A model is someone else's file: one naming `.env` or `.ssh/id_rsa` would hand their
 * bytes back as scores. A model must carry all its weights, wherever a tensor hides (initializers,
 * Constant nodes, subgraphs of If and Loop, model-local functions, training graphs).
 */
export function refuseExternalData(name: string, model: Onnx.IModelProto): void {
  const found: string[] = [];
  const tensor = (t: Onnx.ITensorProto | null | undefined, where: string): void => {
    if (!t || (t.dataLocation !== 1 && (t.externalData?.length ?? 0) === 0)) return;
    const file = t.externalData?.find((e) => e.key === 'location')?.value;
    found.push(`${where} ${JSON.stringify(t.name ?? '')}${file ? ` (file ${JSON.stringify(file)})` : ''}`);
  };
  const sparse = (t: Onnx.ISparseTensorProto | null | undefined, where: string): void => {
    tensor(t?.values, where);
    tensor(t?.indices, where);
  };
  const nodes = (list: Onnx.INodeProto[] | null | undefined): void => {
    for (const n of list ?? []) {
      for (const a of n.attribute ?? []) {
        const where = `attribute ${a.name ?? ''} of ${n.opType ?? 'a'} node`;
        tensor(a.t, where);
        a.tensors?.forEach((t) => tensor(t, where));
        sparse(a.sparseTensor, where);
        a.sparseTensors?.forEach((t) => sparse(t, where));
        graph(a.g);
        a.graphs?.forEach(graph);
      }
    }
  };
  const graph = (g: Onnx.IGraphProto | null | undefined): void => {
    if (!g) return;
    g.initializer?.forEach((t) => tensor(t, 'initializer'));
    g.sparseInitializer?.forEach((t) => sparse(t, 'sparse initializer'));
    nodes(g.node);
  };
  graph(model.graph);
  model.functions?.forEach((f) => nodes(f.node));
  // Training graphs are not run for inference, but a tensor there is still a path onnxruntime may read.
  model.trainingInfo?.forEach((t) => {
    graph(t.initialization);
    graph(t.algorithm);
  });
  const unique = [...new Set(found)];
  if (unique.length > 0) throw new EngineFailure('input_error', `Model ${name}: ${unique.slice(0, 3).join(', ')}${unique.length > 3 ? ` and ${unique.length - 3} more` : ''} ${unique.length === 1 ? 'keeps its' : 'keep their'} values in an external file; Shadowbench takes only self-contained models (onnx.save_model(model, path, save_as_external_data=False) writes one)`);
}

export async function loadSession(name: string, bytes: Uint8Array): Promise<ort.InferenceSession> {
  // Checked again here, not only when a model is added: a workspace file may come from elsewhere.
  let model;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new EngineFailure('input_error', `Model ${name}: the file is not an ONNX model (${(err as Error).message})`);
  }
  refuseExternalData(name, model);
  try {
    // Fatal only: onnxruntime otherwise prints every failed inference to stderr, in colour, on top of
    // the error this code reports itself (a model failing on some rows printed a line per try).
    return await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 4 });
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
  const meta = (session as unknown as { inputMetadata?: Array<{ name: string; isTensor: boolean; type?: string; shape?: Array<number | string> }> }).inputMetadata;
  const input = meta?.find((m) => m.name === manifest.input);
  // Shadowbench feeds float32 (what skl2onnx's FloatTensorType gives); onnxruntime's own word for a
  // double input ("Unexpected input data type") does not say what to do.
  if (input?.type && input.type !== 'float32') {
    throw new EngineFailure('input_error', `Model ${name}: input "${manifest.input}" takes ${input.type} values; Shadowbench feeds float32 rows. Export the model with a float input (skl2onnx: initial_types=[("${manifest.input}", FloatTensorType([None, ${manifest.features.length}]))])`);
  }
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
  /** how long the model itself took over the batch, when it was measured where it ran (a model's thread) */
  elapsedMs?: number;
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
  // A classifier's label output (skl2onnx's int64 "output_label") read as numbers gives scores of 0
  // and 1 that look like a model: only floating-point probabilities or scores are risk.
  if (tensor.type !== 'float32' && tensor.type !== 'float64' && tensor.type !== 'float16') {
    throw new EngineFailure('input_error', `Model ${manifest.name}: output "${manifest.output}" holds ${tensor.type} values (class labels, not probabilities); name the output that holds the probabilities in the manifest (skl2onnx calls it "output_probability")`);
  }
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
