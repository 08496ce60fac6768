// Shipped migrations are never edited; add the next file instead.
//
// Gate specs, versioned: saving under an existing name adds a version, so a verdict can always
// say exactly which criteria it was judged by.
export const sql = `
CREATE TABLE gates (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  spec TEXT NOT NULL,
  saved_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
`;
