// Shipped migrations are never edited; add the next file instead.
//
// The audit log: append-only (UPDATE and DELETE refused by triggers) and hash-chained, so a row
// altered, removed, inserted or reordered by someone who dropped the triggers is still found.
export const sql = `
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  payload TEXT NOT NULL,       -- canonical JSON (RFC 8785)
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_by_action ON audit_log (action);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`;
