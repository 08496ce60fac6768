// Shipped migrations are never edited; add the next file instead.
//
// Scores a detector logged while it ran in shadow somewhere else: one per service and time step.
export const sql = `
CREATE TABLE logged_detector_scores (
  model_id INTEGER NOT NULL REFERENCES models (id),
  service_id INTEGER NOT NULL REFERENCES services (id),
  ts INTEGER NOT NULL,
  score REAL NOT NULL,
  source_id INTEGER NOT NULL REFERENCES sources (id),
  PRIMARY KEY (model_id, service_id, ts)
) WITHOUT ROWID;
`;
