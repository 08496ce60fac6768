// Shipped migrations are never edited; add the next file instead.
//
// Drills and saved import mappings. Drills: specs saved and versioned by name (like gates), and each drill's result: the run it
// made under faults, the base run it re-ran, and the report comparing the two. A suggestion
// records what went wrong on its row (or what a drill did to it) in `fault`.
export const sql = `
ALTER TABLE suggestions ADD COLUMN fault TEXT;
-- Detection runs: PSI and KS of each detection input (service × metric) in the run vs before it.
ALTER TABLE detection_runs ADD COLUMN drift TEXT;

CREATE TABLE drills (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  spec TEXT NOT NULL,
  saved_at INTEGER NOT NULL,
  author TEXT NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;

CREATE TABLE drill_results (
  id INTEGER PRIMARY KEY,
  drill TEXT NOT NULL,
  drill_version INTEGER,
  base_run_id INTEGER NOT NULL REFERENCES runs(id),
  drill_run_id INTEGER NOT NULL REFERENCES runs(id),
  report TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX drill_results_base ON drill_results (base_run_id);

-- Import mappings saved from the wizard (or the CLI), versioned by name like gates and drills.
CREATE TABLE mappings (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  options TEXT NOT NULL,
  saved_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
`;
