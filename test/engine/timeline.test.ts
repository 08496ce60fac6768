import { describe, expect, it } from 'vitest';
import { floorTo } from '../../electron/engine/db/rollups.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

const START = Date.UTC(2026, 0, 1);
const STEP = 60_000;

function values(n: number, offset = 0): Array<[number, number]> {
  // Deterministic, bumpy, with a spike every 1000 steps so min/max matter.
  return Array.from({ length: n }, (_, i) => [START + (i + offset) * STEP, ((i + offset) * 37) % 101 + ((i + offset) % 1000 === 0 ? 500 : 0)]);
}

function csv(points: Array<[number, number]>, metric = 'latency'): string {
  return 'timestamp,service,metric,value\n' + points.map(([ts, v]) => `${ts},api,${metric},${v}`).join('\n') + '\n';
}

/** What the buckets must be, computed the slow, obvious way. */
function expected(points: Array<[number, number]>, origin: number, bucket: number, until: number): Array<[number, number, number, number]> {
  const groups = new Map<number, number[]>();
  for (const [ts, v] of points) {
    if (ts < origin || ts > until) continue;
    const b = Math.floor((ts - origin) / bucket);
    groups.set(b, [...(groups.get(b) ?? []), v]);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([b, vs]) => [origin + b * bucket, Math.min(...vs), Math.max(...vs), vs.reduce((x, y) => x + y, 0) / vs.length]);
}

describe('timeline.query', () => {
  it('downsamples a short window from the points: min, max and mean per bucket', async () => {
    const { engine, dir } = await freshEngine();
    const points = values(5000);
    await importPath(engine, writeFile(dir, 'p.csv', csv(points)), { kind: 'telemetry', timeUnit: 'ms' });
    const from = START + 100 * STEP;
    const until = START + 1100 * STEP;
    const t = await engine.call('timeline.query', { service: 'api', from, until, maxBuckets: 100 });
    const s = t.series[0]!;
    expect(s.bucketMs).toBe(Math.ceil((until - from + 1) / 100));
    expect(s.buckets).toHaveLength(100);
    const want = expected(points, from, s.bucketMs, until);
    s.buckets.forEach((b, i) => {
      expect(b[0]).toBe(want[i]![0]);
      expect(b[1]).toBe(want[i]![1]);
      expect(b[2]).toBe(want[i]![2]);
      expect(b[3]).toBeCloseTo(want[i]![3], 9);
    });
  });

  it('reads rollups for wide windows and gets exactly what the points would give, across two imports', async () => {
    const { engine, dir } = await freshEngine();
    // Twenty days of minutes, imported in two overlapping files so rollups must be refreshed, not appended.
    const first = values(20_000);
    const second = values(15_000, 14_000);
    await importPath(engine, writeFile(dir, 'a.csv', csv(first)), { kind: 'telemetry', timeUnit: 'ms' });
    await importPath(engine, writeFile(dir, 'b.csv', csv(second)), { kind: 'telemetry', timeUnit: 'ms' });
    const all = new Map<number, number>();
    for (const [ts, v] of [...first, ...second]) if (!all.has(ts)) all.set(ts, v);
    const points = [...all.entries()].sort((a, b) => a[0] - b[0]);
    for (const maxBuckets of [400, 20]) {
      const t = await engine.call('timeline.query', { service: 'api', maxBuckets });
      const s = t.series[0]!;
      const level = maxBuckets === 20 ? 86_400_000 : 3_600_000;
      expect(s.bucketMs % level).toBe(0);
      const want = expected(points, floorTo(t.from, level), s.bucketMs, t.until);
      expect(s.buckets.length).toBe(want.length);
      s.buckets.forEach((b, i) => {
        expect([b[0], b[1], b[2]]).toEqual([want[i]![0], want[i]![1], want[i]![2]]);
        expect(b[3]).toBeCloseTo(want[i]![3], 9);
      });
    }
  });

  it('returns the changes, incidents and alerts of the service inside the window only', async () => {
    const { engine, dir } = await freshEngine();
    await importPath(engine, writeFile(dir, 'p.csv', csv(values(3000))), { kind: 'telemetry', timeUnit: 'ms' });
    await importPath(engine, writeFile(dir, 'c.csv', `id,service,timestamp\nin,api,${START + 500 * STEP}\nout,api,${START + 2900 * STEP}\nother,db,${START + 500 * STEP}\n`), { kind: 'changes', timeUnit: 'ms' });
    await importPath(engine, writeFile(dir, 'i.csv', `id,service,severity,started,resolved\nspans,api,2,${START + 90 * STEP},${START + 120 * STEP}\nlater,api,2,${START + 2000 * STEP},${START + 2010 * STEP}\n`), { kind: 'incidents', timeUnit: 'ms' });
    const t = await engine.call('timeline.query', { service: 'api', from: START + 100 * STEP, until: START + 1000 * STEP });
    expect(t.changes.map((c) => c.externalId)).toEqual(['in']);
    expect(t.incidents.map((i) => i.externalId)).toEqual(['spans']);
    expect((await engine.dispatch('timeline.query', { service: 'nope' })).ok).toBe(false);
    expect(t.changesInRange).toBeUndefined();
  });

  it('says how many changes the range holds when it has more than it marks', async () => {
    const { engine, dir } = await freshEngine();
    await importPath(engine, writeFile(dir, 'p.csv', csv(values(100))), { kind: 'telemetry', timeUnit: 'ms' });
    const rows = Array.from({ length: 5003 }, (_, i) => `c${i},api,${START + i * 1000}`).join('\n');
    await importPath(engine, writeFile(dir, 'c.csv', `id,service,timestamp\n${rows}\n`), { kind: 'changes', timeUnit: 'ms' });
    const t = await engine.call('timeline.query', { service: 'api', from: START, until: START + 6000 * 1000 });
    expect(t.changes).toHaveLength(5000);
    expect(t.changesInRange).toBe(5003);
  });
});
