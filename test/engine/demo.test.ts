import Database from 'better-sqlite3';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli.js';
import { writeDemo } from '../../sample-data/generate.js';
import { DEFAULT_OPTIONS } from '../../sample-data/generator.js';
import { REPO, tempDir } from '../helpers/workspace.js';

const DEMO = path.join(REPO, 'sample-data', 'demo');
const DAY = 86_400_000;
let db: Database.Database;
let stdout = '';

beforeAll(async () => {
  const file = path.join(tempDir(), 'demo.sbw');
  const code = await runCli(['demo', '--workspace', file, '--json'], { out: (t) => (stdout += t), err: () => undefined, isTTY: false });
  expect(code).toBe(0);
  db = new Database(file, { readonly: true });
}, 180_000);

const rows = <T>(sql: string, ...params: unknown[]): T[] => db.prepare(sql).all(...params) as T[];
const one = <T>(sql: string, ...params: unknown[]): T => db.prepare(sql).pluck().get(...params) as T;

describe('the demo workspace', () => {
  it('is built by `shadowbench demo` through the importers, one source per input file', () => {
    const info = JSON.parse(stdout) as { counts: Record<string, number> };
    const lines = (f: string): number => fs.readFileSync(path.join(DEMO, f), 'utf8').trim().split('\n').length - 1;
    const telemetry = zlib.gunzipSync(fs.readFileSync(path.join(DEMO, 'telemetry.csv.gz'))).toString().trim().split('\n').length - 1;
    expect(info.counts).toMatchObject({ sources: 5, points: telemetry, changes: lines('changes.csv'), incidents: lines('incidents.csv'), alerts: lines('alerts.csv') });
    expect(rows<{ file_name: string }>('SELECT file_name FROM sources ORDER BY id').map((r) => r.file_name)).toEqual(['services.csv', 'telemetry.csv.gz', 'changes.csv', 'incidents.csv', 'alerts.csv']);
  });

  it('starts its audit log at the beginning: each import and each model added, in order, with an intact chain', async () => {
    const log = rows<{ action: string; subject: string; payload: string }>('SELECT action, subject, payload FROM audit_log ORDER BY seq');
    expect(log.slice(0, 5).map((e) => e.subject)).toEqual(['services from services.csv (demo)', 'telemetry from telemetry.csv.gz (demo)', 'changes from changes.csv (demo)', 'incidents from incidents.csv (demo)', 'alerts from alerts.csv (demo)']);
    expect(JSON.parse(log[2]!.payload)).toMatchObject({ kind: 'changes', rows: one<number>('SELECT count(*) FROM changes') });
    const models = one<number>('SELECT count(*) FROM models');
    expect(log.slice(5).map((e) => e.action)).toEqual(Array(models).fill('model.add'));
    let out = '';
    expect(await runCli(['audit', 'verify', '--workspace', db.name, '--json'], { out: (t) => (out += t), err: () => undefined, isTTY: false })).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, entries: 5 + models });
  });

  it('has at least 10 services with tiers and dependencies, and 4 metrics each at 5-minute resolution over 60 days', () => {
    expect(one<number>('SELECT count(*) FROM services WHERE tier IS NOT NULL')).toBeGreaterThanOrEqual(10);
    expect(one<number>('SELECT count(*) FROM service_dependencies')).toBeGreaterThanOrEqual(10);
    const perService = rows<{ n: number }>('SELECT count(*) AS n FROM series GROUP BY service_id');
    expect(perService.every((r) => r.n >= 4)).toBe(true);
    const span = rows<{ lo: number; hi: number; n: number }>('SELECT min(ts) AS lo, max(ts) AS hi, count(*) AS n FROM points GROUP BY series_id');
    for (const s of span) {
      expect(s.hi - s.lo).toBeGreaterThanOrEqual(60 * DAY - 5 * 60_000);
      expect((s.hi - s.lo) / (s.n - 1)).toBe(300_000);
    }
  });

  it('has about 20 changes a day with the attributes a risk model needs', () => {
    const days = (one<number>('SELECT max(ts) - min(ts) FROM points') + 300_000) / DAY;
    const perDay = one<number>('SELECT count(*) FROM changes') / days;
    expect(perDay).toBeGreaterThan(15);
    expect(perDay).toBeLessThan(25);
    const attrs = Object.keys(JSON.parse(one<string>('SELECT attributes FROM changes LIMIT 1')) as object).sort();
    expect(attrs).toEqual(['config_only', 'dependency_bump', 'files_changed', 'lines_added', 'lines_deleted', 'off_hours', 'tests_changed']);
    expect(one<number>('SELECT count(DISTINCT author) FROM changes')).toBeGreaterThan(20);
    expect(one<number>('SELECT count(*) FROM changes WHERE rolled_back = 1')).toBeGreaterThan(20);
  });

  it('has incidents mostly caused by changes, postmortem links for most but not all, and some without a change', () => {
    const truth = JSON.parse(fs.readFileSync(path.join(DEMO, 'truth.json'), 'utf8')) as { incidentCause: Record<string, string | null> };
    const causes = Object.values(truth.incidentCause);
    const byChange = causes.filter((c) => c !== null && c.startsWith('chg-')).length;
    expect(byChange / causes.length).toBeGreaterThan(0.7);
    expect(causes.filter((c) => c === 'traffic' || c === 'dependency').length).toBeGreaterThan(3);
    const linked = one<number>('SELECT count(*) FROM incidents WHERE cause_change_id IS NOT NULL');
    expect(linked / byChange).toBeGreaterThan(0.6);
    expect(linked).toBeLessThan(byChange);
    // Every postmortem link points at a real change on the same service, made before the incident.
    const bad = one<number>(`SELECT count(*) FROM incidents i JOIN changes c ON c.external_id = i.cause_change_id
      WHERE c.service_id != i.service_id OR c.ts >= i.started_ts`);
    expect(bad).toBe(0);
  });

  it('shows incidents in the metrics: p99 latency is higher during an incident than in the hour before', () => {
    const incidents = rows<{ service_id: number; started_ts: number; mitigated_ts: number }>('SELECT service_id, started_ts, mitigated_ts FROM incidents');
    let higher = 0;
    for (const inc of incidents) {
      const mean = (from: number, until: number): number => one<number>(`SELECT avg(value) FROM points p JOIN series s ON s.id = p.series_id
        WHERE s.service_id = ? AND s.metric = 'latency_p99_ms' AND p.ts BETWEEN ? AND ?`, inc.service_id, from, until);
      if (mean(inc.started_ts + 10 * 60_000, inc.mitigated_ts) > 1.5 * mean(inc.started_ts - 3_600_000, inc.started_ts)) higher++;
    }
    expect(higher / incidents.length).toBeGreaterThan(0.8);
  });

  it('has humans noticing late, and static alerts that sometimes page first', () => {
    const delays = rows<{ d: number }>('SELECT detected_ts - started_ts AS d FROM incidents').map((r) => r.d / 60_000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(delays.reduce((a, b) => a + b, 0) / delays.length).toBeGreaterThan(5);
    const pagedFirst = one<number>(`SELECT count(*) FROM incidents i WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.service_id = i.service_id
      AND a.ts BETWEEN i.started_ts - 300000 AND i.detected_ts)`);
    expect(pagedFirst).toBeGreaterThan(5);
    const falseAlerts = one<number>(`SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.service_id = a.service_id
      AND a.ts BETWEEN i.started_ts - 600000 AND i.resolved_ts)`);
    expect(falseAlerts).toBeGreaterThan(5);
  });

  it('makes riskier changes fail more often: the hidden risk separates outcomes', () => {
    const truth = JSON.parse(fs.readFileSync(path.join(DEMO, 'truth.json'), 'utf8')) as { changeRisk: Record<string, number>; incidentCause: Record<string, string | null> };
    const failed = new Set(Object.values(truth.incidentCause).filter((c): c is string => c !== null));
    const risks = Object.entries(truth.changeRisk);
    const mean = (pred: (id: string) => boolean): number => {
      const xs = risks.filter(([id]) => pred(id)).map(([, r]) => r);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(mean((id) => failed.has(id))).toBeGreaterThan(2 * mean((id) => !failed.has(id)));
  });
});

describe('the demo generator', () => {
  it('is deterministic: a fresh run writes byte-identical files to the committed ones', async () => {
    const out = tempDir();
    await writeDemo(out, DEFAULT_OPTIONS);
    for (const f of ['services.csv', 'telemetry.csv.gz', 'changes.csv', 'incidents.csv', 'alerts.csv', 'truth.json']) {
      const hash = (p: string): string => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
      expect(hash(path.join(out, f)), f).toBe(hash(path.join(DEMO, f)));
    }
    const changes = parse(fs.readFileSync(path.join(out, 'changes.csv')), { columns: true }) as Array<Record<string, string>>;
    expect(changes.length).toBeGreaterThan(1000);
  }, 60_000);

  it('stays within the 10 MB budget for committed demo files', () => {
    const total = fs.readdirSync(DEMO).reduce((sum, f) => sum + fs.statSync(path.join(DEMO, f)).size, 0);
    expect(total).toBeLessThan(10 * 1024 * 1024);
  });
});
