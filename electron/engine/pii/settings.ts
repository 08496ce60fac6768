import crypto from 'node:crypto';
import { PiiSettings } from '../../../shared/contract/methods.js';
import { BUILTIN_RULES, compileRule, makeScrubber, type Scrubber } from '../../../shared/domain/pii.js';
import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';

/**
 * The workspace's PII settings (extra rules, columns always dropped) and its pseudonym key. The
 * key is made once per workspace and never leaves it: no method returns it and reports never
 * include it, so the same person gets the same pseudonym here and a different one elsewhere.
 */

const KEY = 'pii.key';
const SETTINGS = 'pii.settings';

export function workspaceKey(db: Db): Buffer {
  const existing = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(KEY) as string | undefined;
  if (existing) return Buffer.from(existing, 'hex');
  const key = crypto.randomBytes(32);
  db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(KEY, key.toString('hex'));
  return Buffer.from(db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(KEY) as string, 'hex');
}

export function keyedHash(key: Buffer): (value: string) => string {
  return (value) => crypto.createHmac('sha256', key).update(value).digest('hex');
}

export function piiSettings(db: Db): PiiSettings {
  const raw = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(SETTINGS) as string | undefined;
  return PiiSettings.parse(raw ? JSON.parse(raw) : {});
}

export function setPiiSettings(db: Db, input: PiiSettings): PiiSettings {
  for (const r of input.rules) {
    try {
      compileRule(r);
    } catch (err) {
      throw new EngineFailure('bad_request', `PII ${(err as Error).message}`);
    }
  }
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(SETTINGS, JSON.stringify(input));
  return piiSettings(db);
}

/** The import scrubber of this workspace (its rules and key), for looking up what imports stored. */
export function scrubberFor(db: Db, extra: readonly { name: string; pattern: string }[] = []): Scrubber {
  let rules;
  try {
    rules = [...BUILTIN_RULES, ...[...piiSettings(db).rules, ...extra].map(compileRule)];
  } catch {
    rules = [...BUILTIN_RULES];
  }
  return makeScrubber(rules, keyedHash(workspaceKey(db)));
}

/**
 * Scrubs every string in a value (an audit entry's subject and payload): the audit log can never
 * be edited, so nothing personal may go in. Rules as for imports; the workspace's key.
 */
export function scrubForLog(db: Db, extra: readonly { name: string; pattern: string }[] = []): <T>(value: T) => T {
  const s = scrubberFor(db, extra);
  // What the tool itself wrote (a model's or file's sha256, an audit head, a job id) is evidence, not
  // personal data: a workspace rule for hex tokens must not erase it from the log.
  const ours = (key: string, v: string): boolean => OWN_KEYS.has(key) && /^(#\d+ )?[0-9a-f][0-9a-f-]{7,63}$/.test(v);
  const walk = (v: unknown, key = ''): unknown => (typeof v === 'string' ? (ours(key, v) ? v : s.text(v)) : Array.isArray(v) ? v.map((x) => walk(x)) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [s.id(k), walk(x, k)])) : v);
  return <T>(value: T): T => walk(value) as T;
}

const OWN_KEYS = new Set(['sha256', 'auditHead', 'head', 'hash', 'job', 'gateSha256']);

/** What scrubbing would do to some text, with the workspace's key, the built-in rules, `extra` and (unless told not to) the saved rules. */
export function previewPii(db: Db, text: string, extra: readonly { name: string; pattern: string }[], withSaved = true): { text: string; redactions: Record<string, number> } {
  let rules;
  try {
    rules = [...BUILTIN_RULES, ...[...(withSaved ? piiSettings(db).rules : []), ...extra].map(compileRule)];
  } catch (err) {
    throw new EngineFailure('bad_request', `PII ${(err as Error).message}`);
  }
  const s = makeScrubber(rules, keyedHash(workspaceKey(db)));
  return { text: s.text(text), redactions: { ...s.counts } };
}
