// Shipped migrations are never edited; add the next file instead.
//
// Detection runs are their own table: their config and outputs (alerts over time, per-step scores)
// share nothing with change-risk runs but the models they name.
export const sql = `
CREATE TABLE detection_runs (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL,           -- running | done | failed | cancelled | interrupted
  config TEXT NOT NULL,
  models TEXT NOT NULL DEFAULT '[]',
  points INTEGER NOT NULL DEFAULT 0,
  range_from INTEGER,
  range_until INTEGER,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT
);

CREATE TABLE detection_alerts (
  run_id INTEGER NOT NULL REFERENCES detection_runs (id),
  model_id INTEGER NOT NULL REFERENCES models (id),
  service_id INTEGER NOT NULL REFERENCES services (id),
  start_ts INTEGER NOT NULL,
  end_ts INTEGER NOT NULL,
  peak_score REAL NOT NULL,
  explanation TEXT NOT NULL,
  PRIMARY KEY (run_id, model_id, service_id, start_ts)
) WITHOUT ROWID;

-- Per-step scores, in chunks: times as float64 and scores as float32, little-endian. Ten million
-- steps as rows would cost more to write than the run itself.
CREATE TABLE detection_scores (
  run_id INTEGER NOT NULL REFERENCES detection_runs (id),
  model_id INTEGER NOT NULL REFERENCES models (id),
  service_id INTEGER NOT NULL REFERENCES services (id),
  from_ts INTEGER NOT NULL,
  until_ts INTEGER NOT NULL,
  times BLOB NOT NULL,
  scores BLOB NOT NULL,
  PRIMARY KEY (run_id, model_id, service_id, from_ts)
) WITHOUT ROWID;
`;
