// Shipped migrations are never edited; add the next file instead.
//
// Model governance: every change of a model's role (champion, challenger, retired), by whom and when.
export const sql = `
CREATE TABLE model_events (
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL REFERENCES models (id),
  role TEXT NOT NULL CHECK (role IN ('champion', 'challenger', 'retired')),
  actor TEXT NOT NULL,
  ts INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX model_events_by_model ON model_events (model_id, id);
`;
