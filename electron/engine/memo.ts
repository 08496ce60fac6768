import type { Db } from './db/workspace.js';

/**
 * Results computed from finished runs (scorecards, comparisons, detection reports) are the same
 * every time they are asked for until an import changes the incidents, alerts or changes they are
 * judged against: a finished run's suggestions never change. They cost seconds on a big workspace
 * (1000 bootstrap resamples over 100k changes; a detection report over 2k incidents took 25 s), and
 * the UI asks again on every visit and keystroke of the gate editor; so they are kept per open
 * workspace connection, keyed by what they were asked with and by the imports so far.
 */

const MAX_ENTRIES = 64;
const caches = new WeakMap<Db, Map<string, unknown>>();

/** Changes whenever an import lands (every import, an update of stored rows included, adds a source). */
function importsSoFar(db: Db): string {
  const r = db.prepare('SELECT count(*) AS n, coalesce(max(id), 0) AS last FROM sources').get() as { n: number; last: number };
  return `${r.n}.${r.last}`;
}

export function memo<T>(db: Db, key: string, compute: () => T): T {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const full = `${importsSoFar(db)}|${key}`;
  if (cache.has(full)) {
    const hit = cache.get(full) as T;
    // Most recently used last, so the oldest is the first to go.
    cache.delete(full);
    cache.set(full, hit);
    return hit;
  }
  const value = compute();
  cache.set(full, value);
  // A promise that fails is not kept: the next ask tries again.
  if (value instanceof Promise) value.catch(() => cache.delete(full));
  while (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return value;
}

/** Drops what was kept for this workspace: a deleted run's id can be taken by the next run. */
export function forget(db: Db): void {
  caches.delete(db);
}
