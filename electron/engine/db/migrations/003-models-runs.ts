// Shipped migrations are never edited; add the next file instead.
export const sql = `
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  task TEXT NOT NULL,
  kind TEXT NOT NULL,            -- onnx | builtin | imported-log
  sha256 TEXT NOT NULL,
  onnx BLOB,                     -- the model file as run (after any ZipMap rewrite)
  manifest TEXT NOT NULL,        -- JSON: the ONNX manifest, or the built-in's parameters
  notes TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL DEFAULT 'active',
  created_at INTEGER NOT NULL,
  UNIQUE (name, version)
);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  task TEXT NOT NULL,
  state TEXT NOT NULL,           -- running | done | failed | cancelled | interrupted
  config TEXT NOT NULL,
  manifest TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT
);

-- One row per (run, model, change). The label is the outcome as the run saw it, so a scorecard
-- can be recomputed later without re-deciding what happened.
CREATE TABLE suggestions (
  run_id INTEGER NOT NULL REFERENCES runs (id),
  model_id INTEGER NOT NULL REFERENCES models (id),
  change_id INTEGER NOT NULL REFERENCES changes (id),
  replay_ts INTEGER NOT NULL,
  score REAL,
  decision INTEGER,
  latency_ms REAL,
  error TEXT,
  fallback_model_id INTEGER REFERENCES models (id),
  label INTEGER NOT NULL,
  label_source TEXT NOT NULL,
  incident TEXT,
  explanation TEXT,
  PRIMARY KEY (run_id, model_id, change_id)
) WITHOUT ROWID;
-- No index on score: keeping one up to date cost four times the inserts themselves (random
-- order), while a page of the riskiest suggestions sorts 100k rows with LIMIT in ~20 ms.
`;
