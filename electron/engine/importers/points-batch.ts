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

/**
 * Telemetry gathered as points, a batch at a time: each series numbered the first time it appears
 * (nested maps: no key string built per point), times and values in typed arrays.
 */
export class PointsBuilder {
  private readonly index = new Map<string, Map<string, Map<string, number>>>();
  private next = 0;
  private keys: PointsBatch['keys'] = [];
  private series: Int32Array;
  private ts: Float64Array;
  private value: Float64Array;
  length = 0;
  // Rows of one series often share one labels object (scrubRow hands the same one back): its JSON once.
  private lastLabels: object | null = null;
  private lastText = '{}';

  constructor(private readonly capacity: number) {
    this.series = new Int32Array(capacity);
    this.ts = new Float64Array(capacity);
    this.value = new Float64Array(capacity);
  }

  /** The series' number, given it (and noted for the batch under way) the first time it is asked for. */
  seriesOf(service: string, metric: string, labels: string): number {
    let byMetric = this.index.get(service);
    if (!byMetric) this.index.set(service, (byMetric = new Map()));
    let byLabels = byMetric.get(metric);
    if (!byLabels) byMetric.set(metric, (byLabels = new Map()));
    let id = byLabels.get(labels);
    if (id === undefined) {
      byLabels.set(labels, (id = this.next++));
      this.keys.push([id, service, metric, labels]);
    }
    return id;
  }

  /** Adds a point of a numbered series; the caller takes the batch before it holds `capacity`. */
  add(series: number, ts: number, value: number): void {
    const i = this.length++;
    this.series[i] = series;
    this.ts[i] = ts;
    this.value[i] = value;
  }

  /** Adds a row, and says which series it went to. */
  row(row: NormalRow): number {
    if (row.kind !== 'telemetry') throw new Error(`a ${row.kind} row among telemetry`);
    if (row.labels !== this.lastLabels) {
      this.lastLabels = row.labels;
      this.lastText = labelsText(row.labels);
    }
    const series = this.seriesOf(row.service, row.metric, this.lastText);
    this.add(series, row.ts, row.value);
    return series;
  }

  /** The points so far as a batch (moved to the writer's thread, so new arrays for the next). */
  take(): PointsBatch {
    const n = this.length;
    const batch: PointsBatch = { keys: this.keys, series: this.series.subarray(0, n), ts: this.ts.subarray(0, n), value: this.value.subarray(0, n) };
    this.keys = [];
    this.series = new Int32Array(this.capacity);
    this.ts = new Float64Array(this.capacity);
    this.value = new Float64Array(this.capacity);
    this.length = 0;
    return batch;
  }
}

/** The buffers a batch can hand over instead of copying. */
export function transferList(batch: PointsBatch): ArrayBuffer[] {
  return [batch.series.buffer as ArrayBuffer, batch.ts.buffer as ArrayBuffer, batch.value.buffer as ArrayBuffer];
}
