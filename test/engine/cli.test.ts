import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../electron/cli.js';
import { tempDir, writeFile } from '../helpers/workspace.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t), isTTY: false });
  return { code, out, err };
}

describe('shadowbench CLI', () => {
  it('imports files and prints a JSON report with --json', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    const file = writeFile(dir, 'c.csv', 'id,service,timestamp,lines_added\nc1,api,2026-09-01T10:00:00Z,10\n');
    const r = await cli('import', '--workspace', ws, '--create', '--kind', 'changes', '--json', file);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'imported', rowsAccepted: 1, kind: 'changes' });
    const info = await cli('info', '--workspace', ws, '--json');
    expect(JSON.parse(info.out)).toMatchObject({ counts: { changes: 1, services: 1 }, sources: [{ fileName: 'c.csv' }] });
  });

  it('keeps one environment of a GitHub deployments export with --environment, and saves it in a mapping', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    const deploy = (id: number, environment: string) => ({ url: `https://api.github.com/repos/acme/shop/deployments/${id}`, id, sha: `s${id}`, ref: 'main', environment, created_at: `2026-09-0${id}T10:00:00Z`, repository_url: 'https://api.github.com/repos/acme/shop' });
    const file = writeFile(dir, 'deploys.json', JSON.stringify([deploy(1, 'production'), deploy(2, 'staging'), deploy(3, 'production')]));
    const r = await cli('import', '--workspace', ws, '--create', '--kind', 'changes', '--environment', 'production', '--save-mapping', 'gh-prod', '--json', file);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out.slice(r.out.indexOf('{')))).toMatchObject({ status: 'imported', rowsAccepted: 2, environments: { production: 2, staging: 1 } });
    // The saved mapping carries the environment: the same export again, by name, keeps production only.
    const again = writeFile(dir, 'deploys-2.json', JSON.stringify([deploy(4, 'staging'), deploy(5, 'production')]));
    const r2 = await cli('import', '--workspace', ws, '--kind', 'changes', '--mapping', 'gh-prod', '--json', again);
    expect(JSON.parse(r2.out.slice(r2.out.indexOf('{')))).toMatchObject({ status: 'imported', rowsAccepted: 1 });
  });

  it('updates changes rolled back since the last export with --update-existing', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    await cli('import', '--workspace', ws, '--create', '--kind', 'changes', writeFile(dir, 'a.csv', 'id,service,timestamp,rolled_back\nc1,api,2026-09-01T10:00:00Z,false\n'));
    const b = writeFile(dir, 'b.csv', 'id,service,timestamp,rolled_back\nc1,api,2026-09-01T10:00:00Z,true\n');
    const kept = await cli('import', '--workspace', ws, '--kind', 'changes', '--json', b);
    expect(JSON.parse(kept.out)).toMatchObject({ status: 'imported', rowsConflicting: 1, conflictsUpdated: false, conflicts: [{ id: 'c1', fields: ['rolled_back'] }] });
    // The natural next step: the same file again, now asking for its values. It is not refused as "already imported".
    const updated = await cli('import', '--workspace', ws, '--kind', 'changes', '--update-existing', '--json', b);
    const report = JSON.parse(updated.out) as { status: string; sourceId: number; message: string };
    expect(report).toMatchObject({ status: 'imported', rowsConflicting: 1, conflictsUpdated: true, sourceId: JSON.parse(kept.out).sourceId });
    expect(report.message).toBe(`b.csv was already imported (source #${report.sourceId}); 1 stored row updated to its values`);
    const info = await cli('info', '--workspace', ws, '--json');
    expect(JSON.parse(info.out)).toMatchObject({ counts: { changes: 1 } });
    expect((JSON.parse(info.out) as { sources: unknown[] }).sources).toHaveLength(2);
    const again = await cli('import', '--workspace', ws, '--kind', 'changes', '--json', writeFile(dir, 'd.csv', 'id,service,timestamp,rolled_back\nc1,api,2026-09-01T10:00:00Z,true\n\n\n'));
    expect(JSON.parse(again.out)).toMatchObject({ duplicatesSkipped: 1, rowsConflicting: 0 });
  });

  it('imports a spreadsheet\'s month-day times with --time-format, and says when one is needed', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    // What "Save as CSV" gives from a US-locale sheet of incidents, times in New York.
    const file = writeFile(dir, 'incidents.csv', 'id,service,severity,started_at,resolved_at\nINC-7,api,2,3/8/2026 1:30 AM,3/8/2026 4:15 AM\nINC-8,api,3,11/26/2026 3:45 PM,\n');
    const bare = await cli('import', '--workspace', ws, '--create', '--kind', 'incidents', '--json', file);
    expect(bare.code).toBe(EXIT.usage);
    expect(JSON.parse(bare.out).rejected[0].reason).toContain('dates written like this need their format stated');
    const bad = await cli('import', '--workspace', ws, '--kind', 'incidents', '--time-format', 'M/D/YYYY h:mm a', '--time-zone', 'America/New_York', '--json', file);
    expect(JSON.parse(bad.out).message).toMatch(/time format "M\/D\/YYYY h:mm a" cannot be used: Use `d` instead of `D`|Use `yyyy` instead of `YYYY`/);
    const ok = await cli('import', '--workspace', ws, '--kind', 'incidents', '--time-format', 'M/d/yyyy h:mm a', '--time-zone', 'America/New_York', '--json', file);
    expect(JSON.parse(ok.out)).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const db = new Database(ws, { readonly: true });
    // 1:30 EST (-5) and, across that night's change to daylight time, 4:15 EDT (-4); November is EST again.
    expect(db.prepare('SELECT external_id, started_ts, resolved_ts FROM incidents ORDER BY external_id').all()).toEqual([
      { external_id: 'INC-7', started_ts: Date.UTC(2026, 2, 8, 6, 30), resolved_ts: Date.UTC(2026, 2, 8, 8, 15) },
      { external_id: 'INC-8', started_ts: Date.UTC(2026, 10, 26, 20, 45), resolved_ts: null },
    ]);
    db.close();
  });

  it('refuses compact dates read as 1970 epoch seconds, and imports them with the --time-format it names', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    // A daily BigQuery/spreadsheet export: yyyyMMdd, which as epoch seconds is August 1970.
    const file = writeFile(dir, 'daily.csv', 'date,service,metric,value\n20240401,api,orders,1200\n20240402,api,orders,1350\n');
    const guessed = await cli('import', '--workspace', ws, '--create', '--kind', 'telemetry', '--json', file);
    expect(guessed.code).toBe(EXIT.usage);
    expect(JSON.parse(guessed.out).rejected[0]).toEqual({ line: 2, reason: 'timestamp: timestamp 20240401 read as epoch seconds is 1970-08-23T06:20:01Z; it looks like a date written yyyyMMdd: state that format (the time format, --time-format yyyyMMdd on the command line)' });
    const stated = await cli('import', '--workspace', ws, '--kind', 'telemetry', '--time-format', 'yyyyMMdd', '--time-zone', 'UTC', '--json', file);
    expect(JSON.parse(stated.out)).toMatchObject({ status: 'imported', rowsAccepted: 2 });
    const db = new Database(ws, { readonly: true });
    expect(db.prepare('SELECT ts FROM points ORDER BY ts').pluck().all()).toEqual([Date.UTC(2024, 3, 1), Date.UTC(2024, 3, 2)]);
    db.close();
  });

  it('stores a ServiceNow P1 as severity 1 (not its untouched "3 - Low" severity) and says which columns could also have fed a field', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    const file = writeFile(dir, 'servicenow.csv', [
      '\uFEFF"number","opened_at","short_description","priority","severity","urgency","resolved_at","cmdb_ci","business_service"',
      '"INC0010001","2024-04-02 09:15:22","Checkout page returns 502","1 - Critical","3 - Low","1 - High","2024-04-02 10:01:00","checkout-web","Checkout"',
      '"INC0010003","2024-04-03 08:00:00","VPN flaps","4 - Low","3 - Low","2 - Medium","2024-04-03 09:00:00","vpn-gw-01",""',
    ].join('\r\n') + '\r\n');
    const out = await cli('import', '--workspace', ws, '--create', '--kind', 'incidents', '--time-zone', 'Europe/Berlin', '--accept-valid-rows', file);
    expect(out.code).toBe(0);
    expect(out.out).toContain('  severity from column "priority"; "severity", "urgency" could also be it (--map COLUMN=severity to choose)\n');
    expect(out.out).toContain('  service from column "business_service"; "cmdb_ci" could also be it (--map COLUMN=service to choose)\n');
    // The row with no business service names the column it read.
    expect(out.out).toContain('  line 3: service is missing (its column, "business_service", is empty here)\n');
    const db = new Database(ws, { readonly: true });
    expect(db.prepare('SELECT external_id, severity FROM incidents').all()).toEqual([{ external_id: 'INC0010001', severity: 1 }]);
    db.close();
  });

  it('feeds a pager export\'s created_on to both started and detected, and refuses a column mapped twice over', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    const file = writeFile(dir, 'pagerduty.csv', 'incident_number,service_name,urgency,created_on,resolved_on\n1042,checkout,high,2024-03-09T23:50:00-05:00,2024-03-10T00:40:00-05:00\n');
    const twice = await cli('import', '--workspace', ws, '--create', '--kind', 'incidents', '--map', 'created_on=started', '--map', 'created_on=detected', file);
    expect(twice.code).toBe(EXIT.usage);
    expect(twice.err).toContain('--map gives column "created_on" twice (started, detected); a column feeds one field, or several written created_on=started+detected');
    const both = await cli('import', '--workspace', ws, '--create', '--kind', 'incidents', '--map', 'created_on=started+detected', '--json', file);
    expect(JSON.parse(both.out)).toMatchObject({ status: 'imported', rowsAccepted: 1, mapping: { created_on: 'started+detected' } });
    const db = new Database(ws, { readonly: true });
    expect(db.prepare('SELECT started_ts, detected_ts FROM incidents').get()).toEqual({ started_ts: Date.UTC(2024, 2, 10, 4, 50), detected_ts: Date.UTC(2024, 2, 10, 4, 50) });
    db.close();
  });

  it('exits 2 and lists the bad lines when a file is refused', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'bad.csv', 'timestamp,service,metric,value\n2026-09-01T00:00:00Z,a,m,1\n2026-09-01T00:01:00Z,a,m,x\n');
    const r = await cli('import', '--workspace', path.join(dir, 'w.sbw'), '--create', '--kind', 'telemetry', file);
    expect(r.code).toBe(EXIT.usage);
    expect(r.out).toContain('line 3: value "x" is not a number');
  });

  it('exits 2 with a usage message for bad arguments, and for a file that is not a workspace', async () => {
    expect((await cli('import', '--kind', 'telemetry', 'x.csv')).code).toBe(EXIT.usage);
    expect((await cli('import', '--workspace', 'w.sbw', '--kind', 'weather', 'x.csv')).err).toContain("argument 'weather' is invalid");
    expect((await cli('frobnicate')).code).toBe(EXIT.usage);
    const dir = tempDir();
    const notes = writeFile(dir, 'notes.sbw', 'not a database '.repeat(100));
    const r = await cli('info', '--workspace', notes);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/notes\.sbw is not a Shadowbench workspace/);
    expect(fs.readFileSync(notes, 'utf8')).toBe('not a database '.repeat(100));
  });

  it('refuses to import into a missing workspace unless asked to create it', async () => {
    const dir = tempDir();
    const r = await cli('import', '--workspace', path.join(dir, 'nope.sbw'), '--kind', 'telemetry', writeFile(dir, 'a.csv', 'x\n'));
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('pass --create');
    expect(fs.existsSync(path.join(dir, 'nope.sbw'))).toBe(false);
  });

  it('prints help and version with exit 0', async () => {
    expect((await cli('--help')).code).toBe(EXIT.ok);
    expect((await cli('--version')).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('shadowbench import of several files', () => {
  it('names the files it did not try after one was refused', async () => {
    const dir = tempDir();
    const bad = writeFile(dir, 'bad.csv', 'id,service,timestamp\nc1,api,yesterday\n');
    const good = writeFile(dir, 'good.csv', 'id,service,timestamp\nc2,api,2026-09-01T10:00:00Z\n');
    const r = await cli('import', '--workspace', path.join(dir, 'w.sbw'), '--create', '--kind', 'changes', bad, good);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('not tried after the refusal: good.csv\n');
  });
});

describe('shadowbench import --decimal-comma', () => {
  it('reads 1.234,5 as 1234.5, and keeps the choice in a saved mapping', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    const file = writeFile(dir, 'de.csv', 'timestamp;service;metric;value\n2026-03-02T10:00:00Z;kasse;latenz;1.234,5\n');
    const r = await cli('import', '--workspace', ws, '--create', '--kind', 'telemetry', '--decimal-comma', '--save-mapping', 'de', '--json', file);
    expect(r.code, r.err).toBe(EXIT.ok);
    const again = await cli('import', '--workspace', ws, '--kind', 'telemetry', '--mapping', 'de', '--dry-run', '--json', writeFile(dir, 'de2.csv', 'timestamp;service;metric;value\n2026-03-02T10:01:00Z;kasse;latenz;2,5\n'));
    expect(again.code, again.err).toBe(EXIT.ok);
    expect(JSON.parse(again.out)).toMatchObject({ status: 'checked', rowsAccepted: 1, rowsRejected: 0 });
    const db = new Database(ws, { readonly: true });
    expect(db.prepare('SELECT value FROM points').pluck().all()).toEqual([1234.5]);
    db.close();
    // A mapping name that cannot be saved is refused before the import, not after it was written.
    const bad = await cli('import', '--workspace', ws, '--kind', 'telemetry', '--decimal-comma', '--save-mapping', 'ana@corp.example.com', writeFile(dir, 'de3.csv', 'timestamp;service;metric;value\n2026-03-02T10:02:00Z;kasse;latenz;3,5\n'));
    expect([bad.code, bad.err]).toEqual([EXIT.usage, expect.stringContaining('--save-mapping ana@corp.example.com: a mapping name is 1-64 letters')]);
    const after = new Database(ws, { readonly: true });
    expect(after.prepare('SELECT count(*) FROM points').pluck().get()).toBe(1);
    after.close();
  });
});

describe('shadowbench evaluate', () => {
  it('scores a labelled predictions file without a workspace, with sklearn\'s numbers', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'p.csv', 'subject,score,label\na,0.1,0\nb,0.4,0\nc,0.35,1\nd,0.8,1\n');
    const r = await cli('evaluate', '--predictions', file, '--task', 'change-risk', '--json', '--resamples', '200');
    expect(r.code).toBe(EXIT.ok);
    const result = JSON.parse(r.out) as { n: number; metrics: Record<string, { value: number | null }> };
    expect(result.n).toBe(4);
    expect(result.metrics.auc_roc!.value).toBeCloseTo(0.75, 12);
    expect(result.metrics.average_precision!.value).toBeCloseTo(0.8333333333333333, 12);
  });

  it('names the line of a bad score and asks for labels it cannot find', async () => {
    const dir = tempDir();
    const bad = await cli('evaluate', '--predictions', writeFile(dir, 'b.csv', 'subject,score,label\na,0.1,0\nb,high,1\n'));
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain('line 3: score "high" is not a number');
    const unlabeled = await cli('evaluate', '--predictions', writeFile(dir, 'u.csv', 'subject,score\na,0.1\n'));
    expect(unlabeled.err).toContain('pass --workspace');
    // As the predictions importer and a run judge scores: in [0, 1], one per change.
    const range = await cli('evaluate', '--predictions', writeFile(dir, 'r.csv', 'subject,score,label\na,0.1,0\nb,5,1\n'));
    expect([range.code, range.err]).toEqual([EXIT.usage, `error: ${path.join(dir, 'r.csv')} line 3: score 5 must be between 0 and 1 (a probability of an incident)\n`]);
    const twice = await cli('evaluate', '--predictions', writeFile(dir, 't.csv', 'subject,score,label\na,0.9,1\nb,0.2,0\na,0.1,0\n'));
    expect(twice.err).toContain('line 4: subject "a" is already at line 2; each change is scored once');
  });

  it('labels from a workspace as a run there would: the attribution rule included, and said', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    const t0 = Date.UTC(2026, 0, 1);
    // No postmortem links, so the rule is on: c1 is followed by a SEV1 within 6 h, c2 by nothing.
    writeFile(dir, 'c.csv', `id,service,timestamp,lines_added\nc1,api,${t0},10\nc2,api,${t0 + 24 * 3_600_000},10\n`);
    writeFile(dir, 'i.csv', `id,service,severity,started,detected\nI1,api,1,${t0 + 3_600_000},${t0 + 7_200_000}\n`);
    expect((await cli('import', '--workspace', ws, '--create', '--kind', 'changes', '--time-unit', 'ms', path.join(dir, 'c.csv'))).code).toBe(EXIT.ok);
    expect((await cli('import', '--workspace', ws, '--kind', 'incidents', '--time-unit', 'ms', path.join(dir, 'i.csv'))).code).toBe(EXIT.ok);
    const r = await cli('evaluate', '--predictions', writeFile(dir, 'p.csv', 'subject,score\nc1,0.9\nc2,0.2\n'), '--workspace', ws, '--resamples', '0');
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(r.out).toContain('2 subjects, 1 positive (threshold 0.5; labels from the workspace, attribution rule on: a SEV ≤ 2 incident within 6 h after a change marks it)');
  });
});

describe('shadowbench models', () => {
  it('trains, lists, inspects and retires a model', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'w.sbw');
    // Big changes fail, but not every big change (a size that split them perfectly would be refused as the label itself).
    const rows = Array.from({ length: 60 }, (_, i) => `c${i},api,${1788220800 + i * 3600},${i % 7 === 0 || i === 10 ? 900 : 10 + i},${i % 7 === 0 ? 1 : 0}`).join('\n');
    expect((await cli('import', '--workspace', ws, '--create', '--kind', 'changes', writeFile(dir, 'c.csv', `id,service,timestamp,lines_added,outcome\n${rows}\n`))).code).toBe(EXIT.ok);
    const trained = await cli('models', 'train', '--workspace', ws, '--name', 'size', '--kind', 'single-feature');
    expect(trained.code, trained.err).toBe(EXIT.ok);
    const list = await cli('models', 'list', '--workspace', ws, '--json');
    expect(JSON.parse(list.out)).toMatchObject([{ name: 'size', version: 1, builtin: 'single-feature', features: ['lines_added'], status: 'active' }]);
    const inspect = await cli('models', 'inspect', '--workspace', ws, '--model', 'size');
    expect(inspect.out).toMatch(/features \(1\): lines_added/);
    expect((await cli('models', 'retire', '--workspace', ws, '--model', 'size')).out).toBe('retired size v1\n');
    const gone = await cli('models', 'inspect', '--workspace', ws, '--model', 'size');
    expect(gone.code).toBe(EXIT.usage);
    expect(gone.err).toContain('No active model "size"');
    // By id a retired model still runs (a logged config names it so), with a warning.
    const id = (JSON.parse(list.out) as Array<{ id: number }>)[0]!.id;
    const rerun = await cli('run', '--workspace', ws, '--models', String(id), '--resamples', '0');
    expect(rerun.code, rerun.err).toBe(EXIT.ok);
    expect(rerun.err).toContain('warning: size v1 is retired; it runs as asked');
  });
});

describe('the CLI refuses bad input before it writes anything', () => {
  it('a missing file leaves no new workspace; live-import flags without --prometheus are named; demo will not replace a file that is not a workspace', async () => {
    const dir = tempDir();
    const ws = path.join(dir, 'trial.sbw');
    const missing = await cli('import', '--workspace', ws, '--create', '--kind', 'telemetry', path.join(dir, 'nope.csv'));
    expect([missing.code, missing.err.trim()]).toEqual([EXIT.usage, `error: ${path.join(dir, 'nope.csv')}: no such file`]);
    expect(fs.existsSync(ws)).toBe(false);
    const file = writeFile(dir, 't.csv', 'timestamp,service,metric,value\n2026-01-05T09:00:00Z,api,cpu,1\n');
    const live = await cli('import', '--workspace', ws, '--create', '--kind', 'telemetry', '--from', '2026-01-01T00:00:00Z', '--query', 'up', file);
    expect([live.code, live.err.trim()]).toEqual([EXIT.usage, 'error: --query, --from are for live imports: add --prometheus URL, or leave them out']);
    expect(fs.existsSync(ws)).toBe(false);
    const notes = writeFile(dir, 'notes.txt', 'my notes\n');
    const demo = await cli('demo', '--workspace', notes);
    expect([demo.code, demo.err.trim()]).toEqual([EXIT.usage, `error: ${notes} exists and is not a workspace; refusing to replace it (give another path)`]);
    expect(fs.readFileSync(notes, 'utf8')).toBe('my notes\n');
    const serve = await cli('serve', '--workspace', ws, '--port', '0');
    expect([serve.code, serve.err.trim()]).toEqual([EXIT.usage, `error: No workspace at ${ws} (pass --create to make one)`]);
    expect(fs.existsSync(ws)).toBe(false);
  });

  it('a numeric option that is not a number stops the command before it starts, naming the option', async () => {
    const r = await cli('evaluate', '--predictions', 'x.csv', '--threshold', 'abc');
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toBe("error: option '--threshold <t>' argument 'abc' is invalid. give a number from 0 to 1\n(--help shows the options)\n");
    expect((await cli('audit', 'list', '--workspace', 'w.sbw', '--limit', '0')).err).toMatch(/'--limit <n>' argument '0' is invalid. give a whole number from 1 to 1000/);
  });

  it('a system error (an --out folder that does not exist) is one line naming the path, not a stack', async () => {
    const dir = tempDir();
    const preds = writeFile(dir, 'p.csv', 'subject,score,label\na,0.9,1\nb,0.1,0\n');
    const ws = path.join(dir, 'w.sbw');
    expect((await cli('import', '--workspace', ws, '--create', '--kind', 'changes', writeFile(dir, 'c.csv', 'id,service,timestamp,lines_added\nc1,api,2026-09-01T10:00:00Z,10\n'))).code).toBe(EXIT.ok);
    const r = await cli('dataset', 'export', '--workspace', ws, '--out', path.join(dir, 'no-such-folder', 'd.csv'));
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/^error: Could not write .*no-such-folder\/d\.csv: ENOENT: no such file or directory[^\n]*\n$/);
    expect((await cli('evaluate', '--predictions', preds, '--json')).code).toBe(EXIT.ok);
  });
});

describe('the shadowbench binary', () => {
  it('exits quietly when the reader of its output goes away (`shadowbench … | head -1`)', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [path.join(import.meta.dirname, '../../bin/shadowbench.js'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the CLI writes a byte: its first write meets a closed pipe (EPIPE).
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect([code, err]).toEqual([0, '']);
  }, 60_000);

  it('says a port is in use and exits (exit 2), instead of staying up with nothing served', async () => {
    const net = await import('node:net');
    const { spawn } = await import('node:child_process');
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [path.join(import.meta.dirname, '../../bin/shadowbench.js'), 'serve', '--port', String(port), '--workspaces-dir', tempDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      // Before the fix the process never exited (a keep-alive timer and the engine's warm threads held it).
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(EXIT.usage);
      expect(err).toContain(`error: port ${port} on 127.0.0.1 is in use; choose another with --port`);
    } finally {
      busy.close();
    }
  }, 60_000);
});
