// Shipped migrations are never edited; add the next file instead.
//
// Human judgements beside a suggestion: they never change it, they sit next to it.
export const sql = `
CREATE TABLE feedback (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs (id),
  model_id INTEGER NOT NULL REFERENCES models (id),
  change_id INTEGER NOT NULL REFERENCES changes (id),
  verdict TEXT NOT NULL CHECK (verdict IN ('agree', 'disagree', 'override')),
  -- for an override: what the human decided instead (1 = hold back, 0 = let through)
  decision INTEGER CHECK (decision IN (0, 1)),
  reason TEXT NOT NULL,
  author TEXT NOT NULL,
  ts INTEGER NOT NULL
);
CREATE INDEX feedback_by_suggestion ON feedback (run_id, model_id, change_id);
`;
