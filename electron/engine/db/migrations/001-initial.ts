// Shipped migrations are never edited; add the next file instead.
export const sql = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE sources (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  format TEXT NOT NULL,
  file_name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  byte_size INTEGER NOT NULL,
  rows_accepted INTEGER NOT NULL,
  rows_rejected INTEGER NOT NULL,
  options TEXT NOT NULL,
  report TEXT NOT NULL,
  imported_at INTEGER NOT NULL,
  UNIQUE (kind, sha256)
);

CREATE TABLE services (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  tier INTEGER,
  team TEXT
);

CREATE TABLE service_dependencies (
  service_id INTEGER NOT NULL REFERENCES services (id),
  depends_on_id INTEGER NOT NULL REFERENCES services (id),
  PRIMARY KEY (service_id, depends_on_id)
) WITHOUT ROWID;

CREATE TABLE series (
  id INTEGER PRIMARY KEY,
  service_id INTEGER NOT NULL REFERENCES services (id),
  metric TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  UNIQUE (service_id, metric, labels)
);

-- Keyed by (series, time) so that importing the same points twice adds nothing.
CREATE TABLE points (
  series_id INTEGER NOT NULL REFERENCES series (id),
  ts INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

CREATE TABLE changes (
  id INTEGER PRIMARY KEY,
  external_id TEXT NOT NULL UNIQUE,
  service_id INTEGER NOT NULL REFERENCES services (id),
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  author TEXT,
  version TEXT,
  description TEXT,
  attributes TEXT NOT NULL DEFAULT '{}',
  rolled_back INTEGER,
  outcome INTEGER,
  source_id INTEGER NOT NULL REFERENCES sources (id)
);
CREATE INDEX changes_by_time ON changes (ts);
CREATE INDEX changes_by_service_time ON changes (service_id, ts);

CREATE TABLE incidents (
  id INTEGER PRIMARY KEY,
  external_id TEXT NOT NULL UNIQUE,
  service_id INTEGER NOT NULL REFERENCES services (id),
  severity INTEGER NOT NULL,
  started_ts INTEGER NOT NULL,
  detected_ts INTEGER,
  mitigated_ts INTEGER,
  resolved_ts INTEGER,
  -- External id of the change named by the postmortem; the change may be imported later.
  cause_change_id TEXT,
  title TEXT,
  source_id INTEGER NOT NULL REFERENCES sources (id)
);
CREATE INDEX incidents_by_time ON incidents (started_ts);
CREATE INDEX incidents_by_service_time ON incidents (service_id, started_ts);

CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  external_id TEXT NOT NULL UNIQUE,
  service_id INTEGER NOT NULL REFERENCES services (id),
  ts INTEGER NOT NULL,
  resolved_ts INTEGER,
  name TEXT,
  metric TEXT,
  severity INTEGER,
  source_id INTEGER NOT NULL REFERENCES sources (id)
);
CREATE INDEX alerts_by_service_time ON alerts (service_id, ts);
`;
