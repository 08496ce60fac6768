import crypto from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { Db } from '../db/workspace.js';

/**
 * The tamper-evident audit log (DESIGN.md §7). Each entry's hash is sha256(previous hash ‖
 * canonical JSON of the entry: seq, time, actor, action, subject, payload), so changing any row
 * breaks every hash after it. The chain's head (last seq and hash) is also kept in `meta`, so
 * removing the newest rows is found too, and so is a log emptied with its head in a workspace that
 * holds imports, models or runs; `verify` prints the head so a team can record it
 * elsewhere — against someone who rewrites the whole chain and the head, only an outside copy of
 * the head helps, and the report says so.
 */

type Canonicalize = (input: unknown) => string | undefined;
// The package is CommonJS with an ES-style type declaration: depending on the loader the import is
// the function itself or an object holding it as `default`.
export const canonicalize: Canonicalize = (canonicalizeModule as unknown as { default?: Canonicalize }).default ?? (canonicalizeModule as unknown as Canonicalize);

export const GENESIS = '0'.repeat(64);
const HEAD_KEY = 'audit.head';

export interface AuditEntry {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  subject: string;
  payload: unknown;
  prevHash: string;
  hash: string;
}

export function entryHash(prevHash: string, e: { seq: number; ts: number; actor: string; action: string; subject: string; payload: unknown }): string {
  const canonical = canonicalize({ seq: e.seq, ts: e.ts, actor: e.actor, action: e.action, subject: e.subject, payload: e.payload ?? null })!;
  return crypto.createHash('sha256').update(prevHash).update(canonical).digest('hex');
}

function head(db: Db): { seq: number; hash: string } {
  return recordedHead(db) ?? { seq: 0, hash: GENESIS };
}

function recordedHead(db: Db): { seq: number; hash: string } | null {
  const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(HEAD_KEY) as string | undefined;
  if (!v) return null;
  const [seq, hash] = v.split(':');
  return { seq: Number(seq), hash: hash! };
}

/** Appends one entry (in its own transaction, or the caller's). */
export function appendAudit(db: Db, entry: { actor: string; action: string; subject: string; payload?: unknown }): AuditEntry {
  return db.transaction(() => {
    // Link from the recorded head, not the last row: if rows were removed or added behind the
    // app's back, the next entry leaves a gap or a broken link there instead of papering over it.
    const h = head(db);
    const lastSeq = (db.prepare('SELECT max(seq) FROM audit_log').pluck().get() as number | null) ?? 0;
    const prevHash = h.hash;
    const seq = Math.max(h.seq, lastSeq) + 1;
    const ts = Date.now();
    // Round-trip through JSON so what is hashed is exactly what is stored (no undefined, no Dates).
    const payload = JSON.parse(JSON.stringify(entry.payload ?? null)) as unknown;
    const hash = entryHash(prevHash, { seq, ts, actor: entry.actor, action: entry.action, subject: entry.subject, payload });
    db.prepare('INSERT INTO audit_log (seq, ts, actor, action, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(seq, ts, entry.actor, entry.action, entry.subject, canonicalize(payload)!, prevHash, hash);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(HEAD_KEY, `${seq}:${hash}`);
    return { seq, ts, actor: entry.actor, action: entry.action, subject: entry.subject, payload, prevHash, hash };
  })();
}

export type Verification =
  | { ok: true; entries: number; head: string }
  | { ok: false; entries: number; firstBad: number | null; reason: string };

// The guards as migration 008 creates them: compared by their SQL, not only their names (a trigger
// of the same name that does nothing, WHEN 0, would otherwise pass).
const GUARDS: Record<string, string> = {
  audit_no_update: "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
  audit_no_delete: "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
};
const squash = (sql: string): string => sql.replace(/\s+/g, ' ').replace(/;\s*$/, '').trim().toLowerCase();

/**
 * Recomputes the chain from the first entry; names the first entry that does not hold. With
 * `expectHead` (a head recorded outside the workspace, "#N hash"), the chain must still hold that
 * entry with that hash: the one defence against someone who rewrites every hash and the head.
 */
export function verifyAudit(db: Db, expectHead?: string): Verification {
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get()) {
    return { ok: false, entries: 0, firstBad: 1, reason: 'the audit log table itself has been removed from the workspace' };
  }
  let prev = GENESIS;
  let expected = 1;
  let count = 0;
  const rows = db.prepare('SELECT seq, ts, actor, action, subject, payload, prev_hash, hash FROM audit_log ORDER BY seq').raw().iterate() as Iterable<[number, number, string, string, string, string, string, string]>;
  for (const [seq, ts, actor, action, subject, payloadText, prevHash, hash] of rows) {
    count++;
    if (seq !== expected) {
      return seq > expected
        ? { ok: false, entries: count, firstBad: expected, reason: `entry #${expected} is missing (the log jumps from #${expected - 1} to #${seq})` }
        : { ok: false, entries: count, firstBad: seq, reason: `entry #${seq} is out of order` };
    }
    if (prevHash !== prev) return { ok: false, entries: count, firstBad: seq, reason: `entry #${seq} does not follow entry #${seq - 1}: a row was inserted, removed or reordered there` };
    let payload: unknown;
    try {
      payload = JSON.parse(payloadText);
    } catch {
      return { ok: false, entries: count, firstBad: seq, reason: `entry #${seq} has a payload that is not JSON: it was altered` };
    }
    if (entryHash(prev, { seq, ts, actor, action, subject, payload }) !== hash) return { ok: false, entries: count, firstBad: seq, reason: `entry #${seq} was altered: its content no longer matches its hash` };
    // Stored as canonical JSON: other bytes that parse to the same value (a duplicate key SQL reads
    // one way and JSON.parse another, reordered keys) were written by someone else.
    if (canonicalize(payload) !== payloadText) return { ok: false, entries: count, firstBad: seq, reason: `entry #${seq} was altered: its payload is not stored as it was written (its bytes differ from the canonical JSON that was hashed)` };
    if (expectHead) {
      const [n, h] = expectHead.slice(1).split(' ');
      if (Number(n) === seq && h !== hash) return { ok: false, entries: count, firstBad: seq, reason: `entry #${seq} is not the one recorded outside the workspace (its hash is ${hash.slice(0, 16)}…, recorded as ${h!.slice(0, 16)}…): the log was rewritten from there or before` };
    }
    prev = hash;
    expected++;
  }
  if (expectHead && Number(expectHead.slice(1).split(' ')[0]) > count) {
    return { ok: false, entries: count, firstBad: count + 1, reason: `the log ends at entry #${count}, but entry ${expectHead.split(' ')[0]} was recorded outside the workspace: entries were removed` };
  }
  const recorded = recordedHead(db);
  if (recorded === null && count > 0) return { ok: false, entries: count, firstBad: null, reason: `the recorded head (meta "${HEAD_KEY}") is missing: it was removed behind Shadowbench's back, so removing the newest entries would go unseen (the chain itself holds up to #${count})` };
  const h = head(db);
  if (h.seq !== count || h.hash !== prev) {
    return h.seq > count
      ? { ok: false, entries: count, firstBad: count + 1, reason: `entries #${count + 1}–#${h.seq} were removed from the end of the log` }
      : { ok: false, entries: count, firstBad: h.seq + 1, reason: `entry #${h.seq + 1} onwards were added outside Shadowbench (the recorded head is #${h.seq})` };
  }
  if (count === 0) {
    // An emptied log with its head removed is a valid empty chain; but a workspace that holds
    // imports, models or runs had entries written for each, so their absence is the tampering.
    const held = db.prepare('SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM models), (SELECT count(*) FROM runs) + (SELECT count(*) FROM detection_runs)').raw().get() as [number, number, number];
    const named = [[held[0], 'import'], [held[1], 'model'], [held[2], 'run']].filter(([n]) => Number(n) > 0).map(([n, what]) => `${Number(n).toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`);
    if (named.length > 0) return { ok: false, entries: 0, firstBad: 1, reason: `the log is empty, but the workspace holds ${named.join(', ')}: every entry was removed, with the recorded head` };
  }
  // The triggers that refuse UPDATE and DELETE on the log: gone, the log can be edited in place.
  const guards = new Map((db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`).raw().all() as [string, string][]));
  const missing = Object.entries(GUARDS).filter(([name, sql]) => squash(guards.get(name) ?? '') !== squash(sql)).map(([name]) => name);
  if (missing.length > 0) return { ok: false, entries: count, firstBad: null, reason: `the chain holds, but the triggers that refuse editing the log (${missing.join(', ')}) were dropped or changed: someone set out to edit it, and a full rewrite with a fixed head would not show (verify against a head recorded elsewhere: --expect-head)` };
  return { ok: true, entries: count, head: `#${count} ${prev}` };
}

export function listAudit(db: Db, q: { offset: number; limit: number; action?: string | undefined; actor?: string | undefined; text?: string | undefined }): { total: number; offset: number; rows: AuditEntry[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.action) { where.push('action LIKE ?'); args.push(`${q.action}%`); }
  if (q.actor) { where.push('actor = ?'); args.push(q.actor); }
  if (q.text) { where.push('(subject LIKE ? OR payload LIKE ?)'); args.push(`%${q.text}%`, `%${q.text}%`); }
  const sql = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = db.prepare(`SELECT count(*) FROM audit_log ${sql}`).pluck().get(...args) as number;
  const rows = (db.prepare(`SELECT * FROM audit_log ${sql} ORDER BY seq DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as Array<{ seq: number; ts: number; actor: string; action: string; subject: string; payload: string; prev_hash: string; hash: string }>)
    .map((r) => ({ seq: r.seq, ts: r.ts, actor: r.actor, action: r.action, subject: r.subject, payload: JSON.parse(r.payload) as unknown, prevHash: r.prev_hash, hash: r.hash }));
  return { total, offset: q.offset, rows };
}
