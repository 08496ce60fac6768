import type { NormalRow } from '../../../shared/domain/normalize.js';
import { labelsText } from './writer.js';

/**
 * Telemetry on its way to the writer as columns: a table of the series first seen in this batch and
 * three typed arrays. Crossing to the writer's thread it is moved, not copied; cloning 4096 row
 * objects would cost more than writing them.
 */
export interface PointsBatch {
  /** series first seen in this batch: [number, service, metric, labels as JSON] */
  keys: [number, string, string, string][];
  series: Int32Array;
  ts: Float64Array;
  value: Float64Array;
}

/** Numbers each series the first time it appears (nested maps: no key string built per point). */
export function pointsEncoder(): (rows: NormalRow[]) => PointsBatch {
  const index = new Map<string, Map<string, Map<string, number>>>();
  let next = 0;
  // Rows of one series often share one labels object (scrubRow hands the same one back): its JSON once.
  let lastLabels: object | null = null;
  let lastText = '{}';
  return (rows) => {
    const n = rows.length;
    const batch: PointsBatch = { keys: [], series: new Int32Array(n), ts: new Float64Array(n), value: new Float64Array(n) };
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      if (row.kind !== 'telemetry') throw new Error(`a ${row.kind} row among telemetry`);
      let byMetric = index.get(row.service);
      if (!byMetric) index.set(row.service, (byMetric = new Map()));
      let byLabels = byMetric.get(row.metric);
      if (!byLabels) byMetric.set(row.metric, (byLabels = new Map()));
      if (row.labels !== lastLabels) {
        lastLabels = row.labels;
        lastText = labelsText(row.labels);
      }
      const labels = lastText;
      let id = byLabels.get(labels);
      if (id === undefined) {
        byLabels.set(labels, (id = next++));
        batch.keys.push([id, row.service, row.metric, labels]);
      }
      batch.series[i] = id;
      batch.ts[i] = row.ts;
      batch.value[i] = row.value;
    }
    return batch;
  };
}

/** The buffers a batch can hand over instead of copying. */
export function transferList(batch: PointsBatch): ArrayBuffer[] {
  return [batch.series.buffer as ArrayBuffer, batch.ts.buffer as ArrayBuffer, batch.value.buffer as ArrayBuffer];
}
