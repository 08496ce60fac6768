import * as ort from 'onnxruntime-node';
import type { RankerManifest } from '../../../shared/contract/detection.js';
import type { Candidate } from '../../../shared/detection/attribution.js';
import { EngineFailure } from '../errors.js';

/**
 * ONNX ranking models for attribution: one row of features per (incident, candidate change),
 * scored in batches; the candidates are ranked by score, highest first.
 */

const MINUTE = 60_000;
const BATCH = 4096;

export interface RankingCase {
  service: string;
  started: number;
  candidates: readonly Candidate[];
  /** services the incident's service calls */
  dependsOn: ReadonlySet<string>;
}

/** The manifest's features for every candidate of every case, row-major, in case order. */
export function rankerMatrix(manifest: RankerManifest, cases: readonly RankingCase[]): Float32Array {
  const rows = cases.reduce((a, c) => a + c.candidates.length, 0);
  const f = manifest.features.length;
  const matrix = new Float32Array(rows * f);
  let r = 0;
  for (const c of cases) {
    for (const cand of c.candidates) {
      manifest.features.forEach((name, k) => {
        let v: number;
        switch (name) {
          case 'minutes_before': v = (c.started - cand.ts) / MINUTE; break;
          case 'same_service': v = cand.service === c.service ? 1 : 0; break;
          case 'depends_on': v = c.dependsOn.has(cand.service) ? 1 : 0; break;
          case 'change_size': v = cand.size ?? 0; break;
          case 'files_changed': v = cand.files ?? 0; break;
          case 'changes_between': v = c.candidates.filter((o) => o.service === c.service && o.ts > cand.ts).length; break;
        }
        matrix[r * f + k] = v;
      });
      r++;
    }
  }
  return matrix;
}

export async function scoreRows(session: ort.InferenceSession, manifest: RankerManifest, matrix: Float32Array): Promise<Float64Array> {
  const f = manifest.features.length;
  const n = matrix.length / f;
  const scores = new Float64Array(n);
  for (let start = 0; start < n; start += BATCH) {
    const rows = Math.min(BATCH, n - start);
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run({ [manifest.input]: new ort.Tensor('float32', matrix.subarray(start * f, (start + rows) * f), [rows, f]) });
    } catch (err) {
      throw new EngineFailure('input_error', `Model ${manifest.name}: inference failed: ${(err as Error).message.split('\n')[0]}`);
    }
    const tensor = result[manifest.output] as ort.Tensor;
    const data = tensor.data as Float32Array | Float64Array;
    const width = tensor.dims.length >= 2 ? Number(tensor.dims[tensor.dims.length - 1]) : 1;
    const column = manifest.column ?? (width === 2 ? 1 : 0);
    if (data.length !== rows * width || column >= width) throw new EngineFailure('input_error', `Model ${manifest.name}: output "${manifest.output}" has shape [${tensor.dims.join(', ')}] for ${rows} rows; expected [N], [N, 1] or [N, k] with column ${column}`);
    for (let r = 0; r < rows; r++) {
      const v = Number(data[r * width + column]);
      if (!Number.isFinite(v)) throw new EngineFailure('input_error', `Model ${manifest.name} returned ${v} for a candidate: scores must be finite numbers`);
      scores[start + r] = v;
    }
  }
  return scores;
}

export function checkRankerManifest(session: ort.InferenceSession, manifest: RankerManifest): void {
  const { name } = manifest;
  if (!session.inputNames.includes(manifest.input)) throw new EngineFailure('input_error', `Model ${name}: the manifest names input "${manifest.input}", but the model's inputs are ${session.inputNames.map((n) => `"${n}"`).join(', ')}`);
  if (!session.outputNames.includes(manifest.output)) throw new EngineFailure('input_error', `Model ${name}: the manifest names output "${manifest.output}", but the model's outputs are ${session.outputNames.map((n) => `"${n}"`).join(', ')}`);
  const meta = (session as unknown as { inputMetadata?: Array<{ name: string; shape?: Array<number | string> }> }).inputMetadata;
  const width = meta?.find((m) => m.name === manifest.input)?.shape?.[1];
  if (typeof width === 'number' && width > 0 && width !== manifest.features.length) throw new EngineFailure('input_error', `Model ${name}: input "${manifest.input}" takes ${width} features per row, but the manifest lists ${manifest.features.length} (${manifest.features.join(', ')})`);
}
