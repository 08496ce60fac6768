// Shipped migrations are never edited; add the next file instead.
//
// Scores a model logged while it ran in shadow somewhere else, keyed by the subject's external id
// (the change may be imported before or after the log).
export const sql = `
CREATE TABLE logged_scores (
  model_id INTEGER NOT NULL REFERENCES models (id),
  subject TEXT NOT NULL,
  score REAL NOT NULL,
  latency_ms REAL,
  source_id INTEGER NOT NULL REFERENCES sources (id),
  PRIMARY KEY (model_id, subject)
) WITHOUT ROWID;
`;
