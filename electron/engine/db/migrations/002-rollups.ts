// Shipped migrations are never edited; add the next file instead.
//
// Hourly and daily min/max/sum/count per series, so a timeline over months or years reads a few
// thousand rollup rows instead of millions of points. Kept up to date by the importer inside the
// same transaction as the points.
export const sql = `
CREATE TABLE point_rollups (
  series_id INTEGER NOT NULL REFERENCES series (id),
  level INTEGER NOT NULL,       -- bucket width in ms
  bucket_ts INTEGER NOT NULL,   -- bucket start, a multiple of level
  lo REAL NOT NULL,
  hi REAL NOT NULL,
  total REAL NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (series_id, level, bucket_ts)
) WITHOUT ROWID;

INSERT INTO point_rollups (series_id, level, bucket_ts, lo, hi, total, n)
  SELECT series_id, 3600000, ts - (((ts % 3600000) + 3600000) % 3600000) AS b, min(value), max(value), sum(value), count(*)
  FROM points GROUP BY series_id, b;
INSERT INTO point_rollups (series_id, level, bucket_ts, lo, hi, total, n)
  SELECT series_id, 86400000, bucket_ts - (((bucket_ts % 86400000) + 86400000) % 86400000) AS b, min(lo), max(hi), sum(total), sum(n)
  FROM point_rollups WHERE level = 3600000 GROUP BY series_id, b;
`;
