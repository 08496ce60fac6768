import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../electron/engine/engine.js';
import { importPath, tempDir, writeFile } from '../helpers/workspace.js';
import { cli } from '../helpers/cli.js';

/** Realistic secrets and personal data, each a string that must never reach the workspace file. */
const SECRETS = {
  email: 'jane.doe@acme-corp.example',
  email2: 'ops-lead+pager@acme-corp.example',
  ipv4: '10.42.17.250',
  ipv6: '2001:db8:85a3::8a2e:370:7334',
  bearer: 'Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUgRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  aws: 'AKIAIOSFODNN7EXAMPLE',
  key: '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98Fq3k2oYpL0QxKz9\n-----END RSA PRIVATE KEY-----',
  url: 'https://deploy-bot:hunter2hunter2@git.acme-corp.example/api.git',
  author: 'Jane Q. Doe',
  ticket: 'CUST-482913',
};

const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;

function files(dir: string): { changes: string; incidents: string; alerts: string; telemetry: string } {
  const changes = [
    // An extra column is a change attribute named after its header: a header can name a person too.
    `id,service,timestamp,kind,author,version,description,lines_added,customer_email,${q(`owner_${SECRETS.email}`)}`,
    `${q(`chg-${SECRETS.email}`)},api,2026-09-01T10:00:00Z,deploy,${q(SECRETS.author)},${q(`v1 ${SECRETS.aws}`)},${q(`${SECRETS.jwt} ${SECRETS.bearer} from ${SECRETS.ipv4} and ${SECRETS.ipv6}; ${SECRETS.key}`)},10,${q(SECRETS.email2)},1`,
    `chg-2,api,2026-09-02T10:00:00Z,deploy,${q(SECRETS.email)},v2,${q(`pushed via ${SECRETS.url} for ${SECRETS.ticket}`)},20,${q(SECRETS.email2)},0`,
    `chg-3,api,2026-09-03T10:00:00Z,deploy,${q(SECRETS.author)},v3,plain,30,,1`,
  ].join('\n');
  const incidents = [
    'id,service,severity,started_at,detected_at,cause_change_id,title',
    `INC-1,api,2,2026-09-01T11:00:00Z,2026-09-01T11:20:00Z,${q(`chg-${SECRETS.email}`)},${q(`${SECRETS.email2} paged; login from ${SECRETS.ipv4}`)}`,
  ].join('\n');
  const alerts = ['service,timestamp,name', `api,2026-09-01T11:05:00Z,${q(`5xx for ${SECRETS.email}`)}`].join('\n');
  const telemetry = ['timestamp,service,metric,value,user,host', `2026-09-01T10:00:00Z,api,latency,12,${q(SECRETS.email)},${SECRETS.ipv4}`].join('\n');
  return {
    // A file is often named after whoever exported it; the name is kept with the source.
    changes: writeFile(dir, `changes-${SECRETS.email2}.csv`, changes), incidents: writeFile(dir, 'incidents.csv', incidents),
    alerts: writeFile(dir, 'alerts.csv', alerts), telemetry: writeFile(dir, 'telemetry.csv', telemetry),
  };
}

async function load(engine: Engine, dir: string, f: ReturnType<typeof files>) {
  const changes = await importPath(engine, f.changes, { kind: 'changes', dropColumns: ['customer_email'], piiRules: [{ name: 'customer-id', pattern: 'CUST-\\d{6}' }] });
  const incidents = await importPath(engine, f.incidents, { kind: 'incidents' });
  await importPath(engine, f.alerts, { kind: 'alerts' });
  await importPath(engine, f.telemetry, { kind: 'telemetry' });
  return { changes, incidents };
}

describe('PII scrubbing at import', () => {
  it('leaves none of the originals anywhere in the workspace file or its WAL', async () => {
    const dir = tempDir();
    const engine = createEngine({ workspacesDir: dir });
    const workspace = path.join(dir, 'pii.sbw');
    await engine.call('workspace.openPath', { path: workspace, create: true });
    const { changes } = await load(engine, dir, files(dir));
    expect(changes.status).toBe('imported');
    expect(changes.droppedColumns).toEqual(['customer_email']);
    // email: the change id and the column header (once, though every row carries it).
    expect(changes.redactions).toMatchObject({ email: 2, jwt: 1, 'bearer-token': 1, 'aws-access-key': 1, 'private-key': 1, ipv4: 1, ipv6: 1, 'url-credentials': 1, 'customer-id': 1, pseudonym: 3 });
    const rows = (await engine.call('changes.page', { order: 'asc' })).rows;
    expect(rows[0]!.description).toBe('[redacted:jwt] [redacted:bearer-token] from [redacted:ipv4] and [redacted:ipv6]; [redacted:private-key]');
    // The credentials and host go; the path, which names no one, stays.
    expect(rows[1]!.description).toBe('pushed via [redacted:url-credentials]/api.git for [redacted:customer-id]');
    // The same person is the same pseudonym; the link from incident to change survives redaction.
    expect(rows[0]!.author).toBe(rows[2]!.author);
    expect(rows[0]!.author).not.toBe(rows[1]!.author);
    const incident = (await engine.call('incidents.page', {})).rows[0]!;
    expect(incident.causeChangeId).toBe(rows[0]!.externalId);
    expect(rows[0]!.externalId).toMatch(/^\[redacted:email:[0-9a-f]{8}\]$/);
    expect(Object.keys(rows[0]!.attributes).sort()).toEqual([expect.stringMatching(/^\[redacted:email:[0-9a-f]{8}\]$/), 'lines_added']);
    expect((await engine.call('sources.list', {})).map((x) => x.fileName)).toContain('[redacted:email]');
    engine.close();
    // Byte-level search of everything SQLite wrote.
    const bytes = Buffer.concat([workspace, `${workspace}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    expect(bytes.length).toBeGreaterThan(10_000);
    for (const [name, secret] of Object.entries(SECRETS)) {
      const needle = name === 'key' ? 'MIIEowIBAAKCAQEA7bq98Fq3k2oYpL0QxKz9' : secret;
      expect(bytes.includes(Buffer.from(needle)), `${name} found in the workspace`).toBe(false);
    }
    // The check can fail: a string that was imported as is is found.
    expect(bytes.includes(Buffer.from('plain'))).toBe(true);
  });

  it('gives the same person the same pseudonym within a workspace and a different one in another', async () => {
    const names: string[] = [];
    for (let k = 0; k < 2; k++) {
      const dir = tempDir();
      const engine = createEngine({ workspacesDir: dir });
      await engine.call('workspace.openPath', { path: path.join(dir, `w${k}.sbw`), create: true });
      await load(engine, dir, files(dir));
      names.push((await engine.call('changes.page', { order: 'asc' })).rows[0]!.author!);
      engine.close();
    }
    expect(names[0]).toMatch(/^person-[0-9a-f]{10}$/);
    expect(names[1]).not.toBe(names[0]);
  });

  it('redacts a Prometheus series\' labels and counts them once per sample', async () => {
    const dir = tempDir();
    const engine = createEngine({ workspacesDir: dir });
    const file = path.join(dir, 'w.sbw');
    await engine.call('workspace.openPath', { path: file, create: true });
    // Real exports carry the scraped address in `instance`, and teams put owners in labels.
    const series = (owner: string, n: number) => ({ metric: { __name__: 'up', job: 'api', instance: `${SECRETS.ipv4}:9100`, owner }, values: Array.from({ length: n }, (_, i) => [1767600000 + i * 60, '1']) });
    const doc = { status: 'success', data: { resultType: 'matrix', result: [series(SECRETS.author, 5), series(SECRETS.email, 3)] } };
    const report = await importPath(engine, writeFile(dir, 'up.json', JSON.stringify(doc)), { kind: 'telemetry' });
    expect(report).toMatchObject({ status: 'imported', rowsAccepted: 8 });
    expect(report.redactions).toEqual({ ipv4: 8, pseudonym: 8 });
    engine.close();
    const bytes = fs.readFileSync(file).toString('latin1') + (fs.existsSync(`${file}-wal`) ? fs.readFileSync(`${file}-wal`).toString('latin1') : '');
    for (const secret of [SECRETS.ipv4, SECRETS.author, SECRETS.email]) expect(bytes).not.toContain(secret);
  });

  it('previews what will be redacted, and names a bad extra rule', async () => {
    const dir = tempDir();
    const engine = createEngine({ workspacesDir: dir });
    await engine.call('workspace.openPath', { path: path.join(dir, 'p.sbw'), create: true });
    const p = await engine.call('pii.preview', { text: `author,${SECRETS.email}\nhost,${SECRETS.ipv4}` });
    expect(p).toEqual({ text: 'author,[redacted:email]\nhost,[redacted:ipv4]', redactions: { email: 1, ipv4: 1 } });
    await expect(engine.call('settings.setPii', { rules: [{ name: 'bad', pattern: '(unclosed' }], dropColumns: [] })).rejects.toThrow(/PII rule bad: Invalid regular expression/);
    // Patterns that backtrack exponentially on a backtracking engine ((a+)+$ on 26 characters took
    // 0.7 s, doubling per character; (a|a)*b, which safe-regex2 let through, froze serve mode): the
    // engine runs the workspace's rules on V8's linear-time engine, so these 5,000-character cells
    // are answered at once (on a backtracking engine this test would never end).
    const cell = `${'a'.repeat(5000)}!`;
    for (const pattern of ['(a+)+$', '(a|a)*b', '(?:a|ab)*c', '(\\w+\\s?)+#']) {
      expect((await engine.call('pii.preview', { text: cell, rules: [{ name: 'slow', pattern }], withSaved: false })).text).toBe(cell);
    }
    expect((await engine.call('pii.preview', { text: 'xaab', rules: [{ name: 'alt', pattern: '(a|a)*b' }], withSaved: false })).text).toBe('x[redacted:alt]');
    // What the linear engine cannot run is refused with the reason.
    await expect(engine.call('settings.setPii', { rules: [{ name: 'twice', pattern: '(\\w)\\1' }], dropColumns: [] })).rejects.toThrow(/^PII rule twice: the pattern uses a back-reference/);
    await expect(engine.call('pii.preview', { text: 'a', rules: [{ name: 'look', pattern: 'a(?=b)' }] })).rejects.toThrow(/^PII rule look: the pattern uses a back-reference \(\\1\) or a lookaround/);
    // A count the linear engine cannot hold is refused with the rewrite, never run on the backtracking
    // engine: no shape check finds every slow pattern (this one took 5 s on 40 characters).
    await expect(engine.call('settings.setPii', { rules: [{ name: 'chain', pattern: '\\d*\\d*\\d*\\d*\\d*\\d*\\d*\\d*\\d*\\d*x{17}' }], dropColumns: [] })).rejects.toThrow(/^PII rule chain: the pattern repeats something more than 16 times at once/);
    await engine.call('settings.setPii', { rules: [{ name: 'customer-id', pattern: 'CUST-\\d{6}' }], dropColumns: ['customer_email'] });
    expect((await engine.call('pii.preview', { text: SECRETS.ticket })).text).toBe('[redacted:customer-id]');
    const log = await engine.call('audit.list', { action: 'pii.' });
    expect(log.rows[0]).toMatchObject({ action: 'pii.rules' });
    // A draft previewed instead of the saved rules (the Settings page): without them, the ticket stays.
    expect((await engine.call('pii.preview', { text: SECRETS.ticket, rules: [], withSaved: false })).text).toBe(SECRETS.ticket);
    expect((await engine.call('pii.preview', { text: `${SECRETS.ticket} ${SECRETS.email}`, rules: [{ name: 'ticket', pattern: 'CUST-\\d+' }], withSaved: false })).text).toBe('[redacted:ticket] [redacted:email]');
    engine.close();
  });

  it('sets the workspace\'s rules from the command line: the next import uses them, a bad pattern saves nothing', async () => {
    const dir = tempDir();
    const w = path.join(dir, 'cli.sbw');
    const set = await cli(['settings', 'pii', '--workspace', w, '--add-rule', 'customer-id=CUST-\\d{6}', '--drop-column', 'requester']);
    expect(set.code).toBe(2);
    expect(set.err).toContain('No workspace at');
    expect((await cli(['import', '--workspace', w, '--create', '--kind', 'services', writeFile(dir, 's.csv', 'name,tier\ncheckout,1\n')])).code).toBe(0);
    const ok = await cli(['settings', 'pii', '--workspace', w, '--add-rule', 'customer-id=CUST-\\d{6}', '--drop-column', 'requester', '--json']);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toEqual({ pii: { rules: [{ name: 'customer-id', pattern: 'CUST-\\d{6}' }], dropColumns: ['requester'] } });
    const bad = await cli(['settings', 'pii', '--workspace', w, '--add-rule', 'broken=(x', '--keep-column', 'requester']);
    expect([bad.code, bad.err.trim()]).toEqual([2, 'error: PII rule broken: Invalid regular expression: /(x/g: Unterminated group']);
    expect((await cli(['settings', 'show', '--workspace', w])).out).toBe('PII rules (besides the built-ins):\n  customer-id  CUST-\\d{6}\ncolumns always dropped: requester\n');
    const csv = writeFile(dir, 'c.csv', `id,service,timestamp,description,requester,lines_added\nc-1,checkout,2026-11-02T01:00:00Z,for ${SECRETS.ticket},${SECRETS.author},3\n`);
    const imported = await cli(['import', '--workspace', w, '--kind', 'changes', csv, '--json']);
    expect(imported.code, imported.err).toBe(0);
    expect(JSON.parse(imported.out)).toMatchObject({ redactions: { 'customer-id': 1 }, droppedColumns: ['requester'] });
    // Without --json too, the report says what scrubbing rewrote (it is not kept anywhere).
    const again = await cli(['import', '--workspace', w, '--kind', 'changes', writeFile(dir, 'c2.csv', `id,service,timestamp,description,lines_added\nc-2,checkout,2026-11-02T02:00:00Z,for ${SECRETS.ticket} from 10.0.0.1,3\n`)]);
    expect(again.out).toContain('\n  redacted (PII rules): 1 ipv4, 1 customer-id\n');
    const bytes = fs.readFileSync(w).toString('latin1') + (fs.existsSync(`${w}-wal`) ? fs.readFileSync(`${w}-wal`).toString('latin1') : '');
    for (const secret of [SECRETS.ticket, SECRETS.author]) expect(bytes).not.toContain(secret);
    expect((await cli(['audit', 'list', '--workspace', w, '--action', 'pii.'])).out).toMatch(/pii\.rules +PII settings\n1 of 1 entries/);
  });
});

describe('the workspace\'s rules and the audit log', () => {
  it('keep the hashes and heads the tool wrote itself, while free text in the same entry is scrubbed', async () => {
    const dir = tempDir();
    const engine = createEngine({ workspacesDir: dir });
    await engine.call('workspace.openPath', { path: path.join(dir, 'h.sbw'), create: true });
    // A common rule for hex tokens (session ids, API keys) also matches a sha256.
    await engine.call('settings.setPii', { rules: [{ name: 'hexid', pattern: '\\b[0-9a-f]{16}[0-9a-f]{16}[0-9a-f]*\\b' }], dropColumns: [] });
    const b = await engine.call('workspace.backupPath', { path: path.join(dir, `copy-${'ab12'.repeat(8)}.sbw`) });
    const entry = (await engine.call('audit.list', { action: 'workspace.backup' })).rows[0]!;
    expect((entry.payload as { auditHead: string }).auditHead).toBe(b.auditHead);
    expect(b.auditHead).toMatch(/^#\d+ [0-9a-f]{64}$/);
    // The file name is free text: the rule applies there.
    expect(entry.subject).toBe('backup to copy-[redacted:hexid].sbw');
    engine.close();
  });
});

describe('an import\'s own PII rules', () => {
  it('reach the file\'s name and columns as they are kept, and the log\'s entry, not only the cells', async () => {
    const dir = tempDir();
    const engine = createEngine({ workspacesDir: dir });
    await engine.call('workspace.openPath', { path: path.join(dir, 'e.sbw'), create: true });
    const file = writeFile(dir, 'EMP999999.csv', 'id,service,timestamp,EMP777777\nc1,api,2026-03-01T00:00:00Z,3\n');
    const { jobId } = await engine.call('import.startPath', { path: file, kind: 'changes', piiRules: [{ name: 'emp', pattern: 'EMP\\d{6}' }] });
    expect((await engine.jobs.wait(jobId)).state).toBe('done');
    const source = (await engine.call('sources.list', {}))[0]!;
    expect(source.fileName).toBe('[redacted:emp].csv');
    expect(JSON.stringify(source.report)).not.toMatch(/EMP\d{6}/);
    const entries = (await engine.call('audit.list', { action: 'import.' })).rows;
    expect(entries.map((e) => e.subject)).toContain('changes from [redacted:emp].csv');
    expect(JSON.stringify(entries)).not.toMatch(/EMP\d{6}/);
    engine.close();
  });
});
