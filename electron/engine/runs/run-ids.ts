import type { Db } from '../db/workspace.js';

/**
 * The id for a new run: one past any run that ever was, deleted ones included. SQLite reuses the
 * largest rowid once its row is gone, and then audit entries and other processes' cached reports
 * about the deleted run would read as the new one's.
 */
export function nextRunId(db: Db, table: 'runs' | 'detection_runs'): number {
  const key = `${table}.last_id`;
  const mark = Number((db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined) ?? 0);
  const max = (db.prepare(`SELECT max(id) FROM ${table}`).pluck().get() as number | null) ?? 0;
  const id = Math.max(mark, max) + 1;
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, String(id));
  return id;
}
