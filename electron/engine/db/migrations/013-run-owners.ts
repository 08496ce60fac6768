// Shipped migrations are never edited; add the next file instead.
//
// Which process is running a run ("host:pid"). Opening a workspace used to mark every running run
// interrupted, including one another process (a second window, a CLI beside serve mode) was still
// running; now only runs whose process is gone are.
export const sql = `
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE detection_runs ADD COLUMN owner TEXT;
`;
