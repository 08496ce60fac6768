// Shipped migrations are never edited; add the next file instead.
//
// Drills of detection runs. A detection run with a guard keeps, beside each chunk of scores, one
// byte per step saying what happened there (see detection/guard.ts: error, timeout, fallback …).
// Drill results name either kind of run, so they lose the foreign keys into `runs` and say which
// kind their runs are.
export const sql = `
ALTER TABLE detection_scores ADD COLUMN faults BLOB;

CREATE TABLE drill_results_v2 (
  id INTEGER PRIMARY KEY,
  drill TEXT NOT NULL,
  drill_version INTEGER,
  task TEXT NOT NULL DEFAULT 'change-risk',   -- change-risk: ids in runs; detection: ids in detection_runs
  base_run_id INTEGER NOT NULL,
  drill_run_id INTEGER NOT NULL,
  report TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
INSERT INTO drill_results_v2 (id, drill, drill_version, task, base_run_id, drill_run_id, report, created_at)
  SELECT id, drill, drill_version, 'change-risk', base_run_id, drill_run_id, report, created_at FROM drill_results;
DROP TABLE drill_results;
ALTER TABLE drill_results_v2 RENAME TO drill_results;
CREATE INDEX drill_results_base ON drill_results (task, base_run_id);
`;
