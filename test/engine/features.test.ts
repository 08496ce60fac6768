import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFeatures, featureCatalog, HISTORY_FEATURES, HISTORY_WINDOW_MS, loadChanges, utcHour, utcWeekday } from '../../electron/engine/features/catalog.js';
import { labelChanges } from '../../electron/engine/features/outcomes.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 8, 7, 12); // a Monday

async function workspace(changes: string, incidents: string) {
  const { engine, dir, workspace: file } = await freshEngine();
  await importPath(engine, writeFile(dir, 'services.csv', 'name,tier\napi,1\ndb,2\n'), { kind: 'services' });
  await importPath(engine, writeFile(dir, 'changes.csv', `id,service,timestamp,author,lines_added\n${changes}`), { kind: 'changes', timeUnit: 'ms' });
  if (incidents) await importPath(engine, writeFile(dir, 'incidents.csv', `id,service,severity,started,detected,cause_change_id\n${incidents}`), { kind: 'incidents', timeUnit: 'ms' });
  return { engine, dir, db: new Database(file, { readonly: true }) };
}

function features(db: Database.Database, names: string[]): Record<string, number[]> {
  const changes = loadChanges(db);
  const rows = buildFeatures(db, changes, names, labelChanges(db));
  return Object.fromEntries(changes.map((c, i) => [c.externalId, rows[i]!]));
}

describe('point-in-time change features', () => {
  it('give every change the same values from the history window before it as from the whole history', async () => {
    // 480 changes over 240 days on three services, five authors; incidents linked by postmortem and not.
    const changes: string[] = [];
    const incidents: string[] = [];
    for (let i = 0; i < 480; i++) {
      const t = T0 + i * 12 * H + (i % 7) * 600_000;
      changes.push(`c${i},${['api', 'db', 'web'][i % 3]},${t},dev${(i * 7) % 5},${(i * 37) % 200}`);
      if (i % 9 === 0) incidents.push(`I${i},${['api', 'db', 'web'][i % 3]},${1 + (i % 3)},${t + 2 * H},${t + (i % 2 ? 3 : 30) * 24 * H},${i % 18 === 0 ? `c${i}` : ''}`);
    }
    const { db } = await workspace(`${changes.join('\n')}\n`, `${incidents.join('\n')}\n`);
    const names = [...Object.keys(HISTORY_FEATURES), 'lines_added'];
    const rule = { enabled: true, maxSeverity: 2, windowHours: 6 };
    const all = loadChanges(db);
    const full = buildFeatures(db, all, names, labelChanges(db, rule, all), all);
    expect(all.length).toBe(480);
    all.forEach((c, i) => {
      const window = loadChanges(db, c.ts);
      expect(window.every((w) => w.ts >= c.ts - HISTORY_WINDOW_MS && w.ts <= c.ts)).toBe(true);
      const one = buildFeatures(db, [window.find((w) => w.id === c.id)!], names, labelChanges(db, rule, window), window)[0];
      expect(one, c.externalId).toEqual(full[i]);
    });
    // The window is doing work: late changes see far fewer than all.
    expect(loadChanges(db, all[479]!.ts).length).toBeLessThan(200);
    // Every history feature is non-trivial somewhere, so the comparison covers them all.
    names.forEach((_, j) => expect(new Set(full.map((r) => r[j])).size, names[j]).toBeGreaterThan(1));
  });

  it('load every change once, in time order, whatever order they were imported in and however they are sliced', async () => {
    // Imported newest-first with time ties, odd external ids and authors, missing attributes and outcomes.
    const rows: string[] = [];
    for (let i = 0; i < 120; i++) {
      const t = T0 + Math.floor((119 - i) / 3) * H; // three changes share each hour, newest first
      const id = i % 10 === 0 ? `"c${i}, ""quoted"" ü"` : `c${i}`;
      const author = i % 4 === 0 ? '' : `dev ${i % 5}`;
      const lines = i % 6 === 0 ? '' : String(i * 3);
      const outcome = i % 5 === 0 ? '' : String(i % 2);
      rows.push(`${id},${['api', 'db'][i % 2]},${t},${author},${lines},${outcome}`);
    }
    const { engine, dir, workspace: file } = await freshEngine();
    await importPath(engine, writeFile(dir, 'services.csv', 'name,tier\napi,1\ndb,2\n'), { kind: 'services' });
    await importPath(engine, writeFile(dir, 'changes.csv', `id,service,timestamp,author,lines_added,outcome\n${rows.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
    const db = new Database(file);
    // The plain way: a row at a time, ordered by SQLite.
    const reference = (db.prepare('SELECT id, external_id, service_id, ts, author, attributes, outcome FROM changes ORDER BY ts, id').raw().all() as Array<[number, string, number, number, string | null, string, number | null]>)
      .map(([id, externalId, serviceId, ts, author, attributes, outcome]) => ({ id, externalId, serviceId, ts, author, attributes: JSON.parse(attributes) as Record<string, number>, outcome }));
    expect(reference).toHaveLength(120);
    // The import kept file order, so ids run against time and the load has to sort; c117–c119
    // share the first hour and go by id.
    expect(reference.slice(0, 3).map((c) => c.externalId)).toEqual(['c117', 'c118', 'c119']);
    expect(reference.some((c) => c.author === null) && reference.some((c) => c.outcome === null) && reference.some((c) => Object.keys(c.attributes).length === 0)).toBe(true);
    expect(reference.find((c) => c.id === 1)!.externalId).toBe('c0, "quoted" ü');
    for (const slice of [1, 7, 40, 119, 120, 121, 50_000]) expect(loadChanges(db, undefined, slice), `slice ${slice}`).toEqual(reference);
    for (const at of [reference[0]!.ts, reference[59]!.ts, reference[119]!.ts]) {
      const window = reference.filter((c) => c.ts >= at - HISTORY_WINDOW_MS && c.ts <= at);
      for (const slice of [1, 4, 1000]) expect(loadChanges(db, at, slice), `window at ${at}, slice ${slice}`).toEqual(window);
    }
    // A change whose stored attributes are not JSON is named.
    db.prepare("UPDATE changes SET attributes = '{\"lines_added\": 3' WHERE external_id = 'c57'").run();
    expect(() => loadChanges(db)).toThrow(/change c57: its stored attributes are not JSON/);
    db.close();
  });

  it('read hour and weekday from epoch arithmetic exactly as Date does, before 1970 too', () => {
    const check = (ts: number): void => {
      expect(utcHour(ts)).toBe(new Date(ts).getUTCHours());
      expect(utcWeekday(ts)).toBe(new Date(ts).getUTCDay());
    };
    // the edges: midnight, a millisecond either side, the epoch, a Saturday and Sunday, far past and future
    for (const ts of [0, -1, 1, Date.UTC(2026, 8, 12), Date.UTC(2026, 8, 12) - 1, Date.UTC(2026, 8, 13, 23, 59, 59, 999), Date.UTC(1969, 11, 31, 23), -8.64e15, 8.64e15]) check(ts);
    fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ts) => check(ts)), { numRuns: 2000 });
  });

  it('count an incident only from the moment it was detected', async () => {
    const { db } = await workspace(
      `before,api,${T0 - 10 * H},ana,5\nat,api,${T0},ana,5\nafter,api,${T0 + 10 * H},ana,5\n`,
      // started before `at` but detected after it
      `INC-1,api,2,${T0 - 2 * H},${T0 + 1 * H},\n`,
    );
    const f = features(db, ['service_incidents_30d']);
    expect(f.at).toEqual([0]);
    expect(f.after).toEqual([1]);
  });

  it('count an incident with no detection time from when it was mitigated or resolved, not from its start', async () => {
    const { engine, dir, db } = await workspace(`at,api,${T0},ana,5\nafter,api,${T0 + 10 * H},ana,5\n`, '');
    // Started before `at`, no detection time, resolved after it: nobody is known to have known at `at`.
    await importPath(engine, writeFile(dir, 'no-detection.csv', `id,service,severity,started,resolved\nINC-1,api,2,${T0 - 2 * H},${T0 + 3 * H}\n`), { kind: 'incidents', timeUnit: 'ms' });
    const f = features(db, ['service_incidents_30d']);
    expect(f.at).toEqual([0]);
    expect(f.after).toEqual([1]);
  });

  it('count a failure in the failure rate only once it was known', async () => {
    const { db } = await workspace(
      `bad,api,${T0},ana,500\nnext,api,${T0 + 2 * H},bo,1\nlater,api,${T0 + 30 * H},bo,1\n`,
      `INC-1,api,1,${T0 + 1 * H},${T0 + 5 * H},bad\n`,
    );
    const f = features(db, ['service_failed_change_rate_90d', 'service_changes_7d', 'hours_since_prev_change']);
    // At `next` (T0+2h) the incident existed but nobody knew yet; at `later` it was known: 1 of 2 earlier changes failed.
    expect(f.next).toEqual([0, 1, 2]);
    expect(f.later).toEqual([0.5, 2, 28]);
    expect(f.bad).toEqual([0, 0, 720]);
  });

  it('do not move when the future is added', async () => {
    const past = Array.from({ length: 40 }, (_, i) => `c${i},${i % 3 ? 'api' : 'db'},${T0 + i * 5 * H},${['ana', 'bo', 'cy'][i % 3]},${i * 7}`).join('\n') + '\n';
    const pastIncidents = `INC-1,api,2,${T0 + 50 * H},${T0 + 52 * H},c10\nINC-2,db,1,${T0 + 90 * H},${T0 + 91 * H},\n`;
    const { engine, dir, db } = await workspace(past, pastIncidents);
    const names = [...Object.keys(HISTORY_FEATURES), 'lines_added'];
    const before = features(db, names);
    // The future: more changes, an incident on an old change detected later, a burst on api.
    const end = T0 + 40 * 5 * H;
    const future = Array.from({ length: 30 }, (_, i) => `f${i},${i % 2 ? 'api' : 'db'},${end + i * H},${['ana', 'dee'][i % 2]},${i}`).join('\n');
    await importPath(engine, writeFile(dir, 'future.csv', `id,service,timestamp,author,lines_added\n${future}\n`), { kind: 'changes', timeUnit: 'ms' });
    await importPath(engine, writeFile(dir, 'future-inc.csv', `id,service,severity,started,detected,cause_change_id\nINC-9,api,1,${end - H},${end + 3 * H},c38\nINC-10,db,2,${end + 5 * H},${end + 6 * H},f4\n`), { kind: 'incidents', timeUnit: 'ms' });
    const after = features(db, names);
    for (const id of Object.keys(before)) expect(after[id], id).toEqual(before[id]);
    expect(Object.keys(after)).toHaveLength(70);
  });

  it('average telemetry over the hour before the change, never at or after it', async () => {
    const { engine, dir, db } = await workspace(`a,api,${T0},ana,5\nb,db,${T0},ana,5\n`, '');
    const points = [[T0 - 2 * H, 1000], [T0 - 50 * 60_000, 10], [T0 - 10 * 60_000, 20], [T0, 5000], [T0 + 60_000, 9000]]
      .map(([ts, v]) => `${ts},api,latency_ms,${v}`).join('\n');
    await importPath(engine, writeFile(dir, 'points.csv', `timestamp,service,metric,value\n${points}\n`), { kind: 'telemetry', timeUnit: 'ms' });
    expect(featureCatalog(db).telemetry).toEqual(['telemetry_latency_ms_1h']);
    const f = features(db, ['telemetry_latency_ms_1h']);
    expect(f.a).toEqual([15]);
    expect(f.b).toEqual([0]); // no telemetry for db
  });

  it('name what is available when a model asks for a feature that does not exist', async () => {
    const { db } = await workspace(`a,api,${T0},ana,5\n`, '');
    expect(() => buildFeatures(db, loadChanges(db), ['lines_added', 'test_coverage'], labelChanges(db))).toThrow(/unknown feature test_coverage; available: .*service_changes_7d.*lines_added/);
    expect(featureCatalog(db).attributes).toEqual(['lines_added']);
  });
});

describe('outcomes', () => {
  it('prefer postmortem links, and use the attribution rule only when there are none', async () => {
    const linked = await workspace(`a,api,${T0},ana,5\nb,api,${T0 + H},ana,5\n`, `INC-1,api,1,${T0 + 2 * H},${T0 + 3 * H},a\n`);
    const o = labelChanges(linked.db);
    const byId = Object.fromEntries(loadChanges(linked.db).map((c) => [c.externalId, o.get(c.id)!]));
    expect(byId.a).toMatchObject({ label: 1, source: 'postmortem', knownAt: T0 + 3 * H });
    expect(byId.b).toMatchObject({ label: 0 });

    const unlinked = await workspace(`a,api,${T0},ana,5\nb,db,${T0 + H},ana,5\nc,api,${T0 - 20 * H},ana,5\n`, `INC-1,api,1,${T0 + 2 * H},${T0 + 3 * H},\n`);
    const u = labelChanges(unlinked.db);
    const byId2 = Object.fromEntries(loadChanges(unlinked.db).map((c) => [c.externalId, u.get(c.id)!]));
    expect(byId2.a).toMatchObject({ label: 1, source: 'rule', incident: 'INC-1' });
    expect(byId2.b).toMatchObject({ label: 0 }); // another service
    expect(byId2.c).toMatchObject({ label: 0 }); // outside the 6 h window
  });

  it('with the rule on, guess causes only for incidents nobody explained', async () => {
    // INC-1's postmortem names a; b ran in its window too but is not blamed. INC-2 has no cause: c is guessed.
    const mixed = await workspace(`a,api,${T0},ana,5\nb,api,${T0 + H},ana,5\nc,api,${T0 + 10 * H},ana,5\n`,
      `INC-1,api,1,${T0 + 2 * H},${T0 + 3 * H},a\nINC-2,api,1,${T0 + 11 * H},${T0 + 12 * H},\n`);
    const o = labelChanges(mixed.db, { enabled: true, maxSeverity: 2, windowHours: 6 });
    const byId = Object.fromEntries(loadChanges(mixed.db).map((c) => [c.externalId, o.get(c.id)!]));
    expect(byId.a).toMatchObject({ label: 1, source: 'postmortem', incident: 'INC-1' });
    expect(byId.b).toMatchObject({ label: 0, source: 'none' });
    expect(byId.c).toMatchObject({ label: 1, source: 'rule', incident: 'INC-2' });
  });
});
