import type { Db } from './workspace.js';

/** Rollup widths, finest first. The timeline reads the coarsest one that fits its bucket size. */
export const ROLLUP_LEVELS = [3_600_000, 86_400_000] as const;

/** Floors to a multiple of `level`, also for times before 1970. */
export const floorTo = (ts: number, level: number): number => ts - (((ts % level) + level) % level);

/**
 * Recomputes the rollups of one series over [from, until] from its points. Runs inside the
 * caller's transaction, so points and rollups land together or not at all.
 */
export function refreshRollups(db: Db, seriesId: number, from: number, until: number): void {
  const [hour, day] = ROLLUP_LEVELS;
  const lo = floorTo(from, day);
  const hi = floorTo(until, day) + day - 1;
  db.prepare('DELETE FROM point_rollups WHERE series_id = ? AND bucket_ts BETWEEN ? AND ?').run(seriesId, lo, hi);
  // Bound values arrive as REAL; the casts keep the bucket arithmetic in integers.
  db.prepare(`INSERT INTO point_rollups (series_id, level, bucket_ts, lo, hi, total, n)
    SELECT series_id, CAST(@level AS INTEGER), ts - (((ts % CAST(@level AS INTEGER)) + CAST(@level AS INTEGER)) % CAST(@level AS INTEGER)) AS b,
      min(value), max(value), sum(value), count(*)
    FROM points WHERE series_id = @id AND ts BETWEEN @lo AND @hi GROUP BY b`).run({ level: hour, id: seriesId, lo, hi });
  db.prepare(`INSERT INTO point_rollups (series_id, level, bucket_ts, lo, hi, total, n)
    SELECT series_id, CAST(@day AS INTEGER), bucket_ts - (((bucket_ts % CAST(@day AS INTEGER)) + CAST(@day AS INTEGER)) % CAST(@day AS INTEGER)) AS b,
      min(lo), max(hi), sum(total), sum(n)
    FROM point_rollups WHERE series_id = @id AND level = CAST(@hour AS INTEGER) AND bucket_ts BETWEEN @lo AND @hi GROUP BY b`).run({ day, hour, id: seriesId, lo, hi });
}
