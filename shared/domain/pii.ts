import safeRegex from 'safe-regex2';
import retModule from 'ret';
import type { NormalRow } from './normalize.js';

/**
 * PII scrubbing at import, before anything is written (DESIGN.md §7). Secrets and personal data in
 * free text become `[redacted:<rule>]`; in identifiers (change ids, service names, …) the marker
 * carries a short keyed token so two different ids stay different and the same id links up across
 * files; people (author fields) become stable keyed pseudonyms. The keyed parts come from the
 * engine (HMAC with the workspace's own key), so this module stays pure.
 */

export interface PiiRule {
  name: string;
  pattern: RegExp;
  /**
   * A match that is not what the rule is after, told by itself and the text just before it (at
   * most 30 characters): left as it is and not counted. Built-in rules only.
   */
  keep?: (match: string, before: string) => boolean;
}

// What a version number follows in prose: "release 3.1.0.12", "Rollback to 4.2.0.117", "build 10.0.0.4".
const VERSION_CONTEXT = /(?:\b(?:v|ver|version|release|rel|build|tag|image|(?:roll ?back|upgrade|downgrade|revert|pin(?:ned)?|bump(?:ed)?) to)[\s:=#@-]*|\bv)$/i;
// A setting written "key: value" in prose: "Session token: refresh failing", "Password: reset flow".
// A value of lowercase letters alone after a colon is a word, not a secret (`db_password: hunter2`,
// `password: S3cret` and `token=refresh` are still redacted).
const PROSE_AFTER_COLON = /:\s*[a-z]+$/;

// Order matters: a URL with credentials contains something email-like, a JWT is dotted base64.
export const BUILTIN_RULES: readonly PiiRule[] = [
  { name: 'private-key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g },
  { name: 'url-credentials', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s/@]+@[^\s/]+/gi },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  { name: 'bearer-token', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{8,}=*/gi },
  // HTTP's scheme names are case-insensitive; the credentials are base64 with a digit, "+", "/" or "="
  // in them (so "Basic Authentication is disabled" is prose, not a secret).
  { name: 'basic-auth', pattern: /\bBasic\s+(?=[A-Za-z]*[0-9+/=])[A-Za-z0-9+/]{10,}={0,2}/gi },
  { name: 'aws-access-key', pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g },
  // Tokens whose issuers give them a recognisable prefix (GitHub, Slack, Google Cloud, Stripe and
  // OpenAI-style keys), and Slack's incoming-webhook URLs, which are credentials themselves.
  { name: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { name: 'slack-token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]+/g },
  { name: 'gcp-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { name: 'api-key', pattern: /\b(?:[sr]k_(?:live|test)_[A-Za-z0-9]{10,}|sk-(?:proj-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20,}))/g },
  // A secret written as a setting: password=…, "client_secret": "…", aws_secret_access_key = … (the
  // AWS secret key has no prefix of its own: its label is what gives it away).
  // Prefixed names too (POSTGRES_PASSWORD=, db_password:, GITHUB_TOKEN=), and quoted values with spaces.
  { name: 'secret-setting', pattern: /(?<![A-Za-z0-9])(?:[A-Za-z0-9]+[_-]){0,4}(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|secret_access_key)["']?\s*[:=]\s*(?:"(?:[^"\\\n]|\\.)+"|'(?:[^'\\\n]|\\.)+'|[^\s,;&"']+)/gi, keep: (match) => PROSE_AFTER_COLON.test(match) },
  { name: 'email', pattern: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g },
  // Full and compressed IPv6 (at least two groups around "::", or eight groups).
  { name: 'ipv6', pattern: /\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?\b|::1\b/gi },
  // Zero-padded octets too (010.001.002.003, as some exporters write them).
  // Four-part versions (.NET and Windows builds, 4.2.0.117) look the same: kept where the words
  // before say version.
  { name: 'ipv4', pattern: /\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|0?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|0?\d?\d)\b/g, keep: (_match, before) => VERSION_CONTEXT.test(before) },
];

export interface Scrubber {
  /** free text: secrets replaced by markers; counts what was replaced, by rule */
  text(value: string): string;
  /** an identifier: markers carry a keyed token so distinct values stay distinct */
  id(value: string): string;
  /** a person: a stable keyed pseudonym */
  person(value: string): string;
  counts: Record<string, number>;
  /** while not null, every rule name counted is also added here */
  hits?: string[] | null;
  /**
   * The last label set scrubbed, what it became and what that counted: rows that share one labels
   * object (a series' samples) are scrubbed once, and counted for every row.
   */
  lastLabels?: { given: object | null; out: Record<string, string>; hits: string[] };
}

/**
 * True when no built-in rule can match: every one needs an "@", ":", "=" or "." (emails, URLs, IP
 * addresses, JWTs, password=…) or at least 15 characters (keys, tokens). Service and metric names
 * are almost always like that, and checking a few characters is cheaper than any lookup.
 */
function cannotMatchBuiltin(value: string): boolean {
  if (value.length >= 15) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 64 /* @ */ || c === 58 /* : */ || c === 46 /* . */ || c === 61 /* = */) return false;
  }
  return true;
}

/** Builds a scrubber from rules and a keyed hash (HMAC in the engine; anything stable in tests). */
export function makeScrubber(rules: readonly PiiRule[], keyed: (value: string) => string): Scrubber {
  // No prototype: a rule may be named `constructor` (names are [a-z0-9-]), which {} already has.
  const counts: Record<string, number> = Object.create(null) as Record<string, number>;
  const count = (rule: string): void => {
    counts[rule] = (counts[rule] ?? 0) + 1;
    scrubber.hits?.push(rule);
  };
  // Telemetry repeats the same few service and metric names millions of times: remember answers
  // (and which rules fired, so the counts stay per occurrence).
  const caches = { text: new Map<string, { out: string; hits: string[] }>(), id: new Map<string, { out: string; hits: string[] }>() };
  const builtinOnly = rules.every((r) => BUILTIN_RULES.includes(r));
  const replace = (value: string, mode: 'text' | 'id', marker: (rule: string, match: string) => string): string => {
    if (builtinOnly && cannotMatchBuiltin(value)) return value;
    const cache = caches[mode];
    const cached = cache.get(value);
    if (cached) {
      if (cached.hits.length > 0) for (const h of cached.hits) count(h);
      return cached.out;
    }
    let out = value;
    const hits: string[] = [];
    for (const rule of rules) {
      rule.pattern.lastIndex = 0;
      if (!rule.pattern.test(out)) continue;
      rule.pattern.lastIndex = 0;
      const keep = rule.keep;
      out = out.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
        if (keep) {
          // replace() passes the groups (strings or undefined), then the offset and the whole text.
          const at = rest.findIndex((x) => typeof x === 'number');
          const offset = rest[at] as number;
          if (keep(match, (rest[at + 1] as string).slice(Math.max(0, offset - 30), offset))) return match;
        }
        count(rule.name);
        hits.push(rule.name);
        return marker(rule.name, match);
      });
    }
    if (cache.size < 50_000) cache.set(value, { out, hits });
    return out;
  };
  const people = new Map<string, string>();
  const scrubber: Scrubber = {
    counts,
    hits: null,
    lastLabels: { given: null, out: {}, hits: [] },
    text: (value) => replace(value, 'text', (rule) => `[redacted:${rule}]`),
    id: (value) => replace(value, 'id', (rule, match) => `[redacted:${rule}:${keyed(match).slice(0, 8)}]`),
    person(value) {
      // "Ana Lima <ana@corp.example>" (git's author form) is the same person as her bare address.
      const key = (/<([^<>\s]+@[^<>\s]+)>\s*$/.exec(value)?.[1] ?? value).trim().toLowerCase();
      let p = people.get(key);
      if (!p) {
        p = `person-${keyed(`person:${key}`).slice(0, 10)}`;
        people.set(key, p);
      }
      count('pseudonym');
      return p;
    },
  };
  return scrubber;
}

/** Label keys that name people: their values are pseudonymised like authors. */
const PERSON_LABELS = /^(user|username|user_name|assignee|author|owner|email|login|on_?call|responder)$/i;

/** A row with every text field scrubbed and every person pseudonymised. */
// Module level, not inside scrubRow: a closure made per row is measurable at millions of rows.
const opt = (v: string | null, f: (x: string) => string): string | null => (v === null ? null : f(v));
// A version field that is a version number (4.2.0.117, v1.2.3-rc.1+build.5) is one, whatever an IP
// address rule makes of it; anything else in it is free text.
const VERSION = /^v?\d+(?:\.\d+){1,4}(?:[-+][0-9A-Za-z.-]+)?$/;
const scrubVersion = (v: string, s: Scrubber): string => (VERSION.test(v) ? v : s.text(v));

function scrubLabels(given: Record<string, string>, s: Scrubber): Record<string, string> {
  const last = s.lastLabels;
  if (!last) return Object.fromEntries(Object.entries(given).map(([k, v]) => [s.id(k), PERSON_LABELS.test(k) ? s.person(v) : s.id(v)]));
  if (last.given === given) {
    for (const rule of last.hits) s.counts[rule] = (s.counts[rule] ?? 0) + 1;
    return last.out;
  }
  const hits: string[] = [];
  s.hits = hits;
  try {
    last.out = Object.fromEntries(Object.entries(given).map(([k, v]) => [s.id(k), PERSON_LABELS.test(k) ? s.person(v) : s.id(v)]));
  } finally {
    s.hits = null;
  }
  last.given = given;
  last.hits = hits;
  return last.out;
}

export function scrubRow(row: NormalRow, s: Scrubber): NormalRow {
  switch (row.kind) {
    case 'telemetry': {
      // Millions of these: no copies of an empty label set.
      let labels = row.labels;
      for (const _ in row.labels) {
        labels = scrubLabels(row.labels, s);
        break;
      }
      const service = s.id(row.service);
      const metric = s.id(row.metric);
      // Nothing to scrub (the usual case): the row as it is, not a copy.
      if (service === row.service && metric === row.metric && labels === row.labels) return row;
      return { kind: 'telemetry', ts: row.ts, service, metric, labels, value: row.value };
    }
    case 'changes':
      return {
        ...row, externalId: s.id(row.externalId), service: s.id(row.service), changeKind: s.text(row.changeKind),
        author: opt(row.author, s.person), version: row.version === null ? null : scrubVersion(row.version, s), description: opt(row.description, s.text),
        // Extra columns become attributes named after them: a header is text from the file too.
        attributes: scrubKeys(row.attributes, s),
      };
    case 'incidents':
      return { ...row, externalId: s.id(row.externalId), service: s.id(row.service), causeChangeId: opt(row.causeChangeId, s.id), title: opt(row.title, s.text) };
    case 'alerts':
      return { ...row, externalId: s.id(row.externalId), service: s.id(row.service), name: opt(row.name, s.text), metric: opt(row.metric, s.id) };
    case 'services':
      return { ...row, name: s.id(row.name), team: opt(row.team, s.text), dependsOn: row.dependsOn.map(s.id) };
    case 'predictions':
      return { ...row, subject: s.id(row.subject), model: s.id(row.model), version: scrubVersion(row.version, s) };
    case 'detector-scores':
      return { ...row, service: s.id(row.service), model: s.id(row.model), version: scrubVersion(row.version, s) };
  }
}

/** Compiles a user's extra rule, with a clear error instead of a crash. */
// Keys are a file's column names, the same on every row: each is scrubbed (and counted) once.
const scrubbedKeys = new WeakMap<Scrubber, Map<string, string>>();

/** The same object when no key changes (the usual case), else one with scrubbed keys. */
function scrubKeys<T>(object: Record<string, T>, s: Scrubber): Record<string, T> {
  let memo = scrubbedKeys.get(s);
  if (!memo) scrubbedKeys.set(s, (memo = new Map()));
  const scrub = (k: string): string => {
    let out = memo.get(k);
    // As identifiers: two headers that differ only in the address they name stay two attributes.
    if (out === undefined) memo.set(k, (out = s.id(k)));
    return out;
  };
  const keys = Object.keys(object);
  if (keys.every((k) => scrub(k) === k)) return object;
  return Object.fromEntries(keys.map((k) => [scrub(k), object[k]!]));
}

// ret's token types (its `types` enum): the two that make a slow shape.
const GROUP = 1;
const REPETITION = 5;
type RetToken = { type: number; stack?: RetToken[]; options?: RetToken[][]; value?: unknown; max?: number };
const tokenize = (typeof retModule === 'function' ? retModule : (retModule as unknown as { default: (p: string) => RetToken }).default) as unknown as (p: string) => RetToken;

/**
 * A group of alternatives under a repeat that can run long ((a|a)*b, (?:a|ab)+c): besides a repeat
 * inside a repeat, the other way a pattern backtracks exponentially, and one safe-regex2 does not see.
 */
function repeatsAlternatives(pattern: string): boolean {
  const children = (t: RetToken): RetToken[] => [...(t.stack ?? []), ...(t.options ?? []).flat()];
  const walk = (t: RetToken, repeated: boolean): boolean => {
    if (t.type === REPETITION) return walk(t.value as RetToken, repeated || !Number.isFinite(t.max) || (t.max ?? 0) > 16);
    if (t.type === GROUP) return (repeated && (t.options?.length ?? 0) > 1) || children(t).some((x) => walk(x, repeated));
    return false;
  };
  try {
    return children(tokenize(pattern)).some((x) => walk(x, false));
  } catch {
    return false; // a syntax ret does not read: the RegExp constructor already accepted it
  }
}

export function compileRule(rule: { name: string; pattern: string }): PiiRule {
  if (!/^[a-z0-9-]{1,40}$/.test(rule.name)) throw new Error(`rule name "${rule.name}" must be 1-40 lowercase letters, digits or dashes`);
  let pattern: RegExp;
  try {
    pattern = new RegExp(rule.pattern, 'g');
  } catch (err) {
    throw new Error(`rule ${rule.name}: ${(err as Error).message}`);
  }
  // A rule runs on every imported cell and every audit entry, on the engine's one thread, and a
  // JavaScript regex cannot be interrupted: (a+)+ or (a|a)*b can backtrack for minutes on a
  // 40-character cell. The app's own processes turn on V8's linear-time engine (the `l` flag), on
  // which no pattern can: time grows with the text whatever the pattern. It has no back-references
  // or lookarounds, so those are refused. Where it is not on (the renderer's draft check), safe-regex2
  // finds the usual way to write a slow pattern by accident, a repeat inside a repeat.
  try {
    return { name: rule.name, pattern: new RegExp(rule.pattern, 'gl') };
  } catch (err) {
    // What the linear engine cannot run is refused, never handed to the backtracking one: no check of
    // a pattern's shape finds every slow one (\d*\d*…\d*x{17} took 5 s on 40 characters).
    if (/linear time/i.test((err as Error).message)) {
      throw new Error(/\\[1-9]|\\k<|\(\?<?[=!]/.test(rule.pattern)
        ? `rule ${rule.name}: the pattern uses a back-reference (\\1) or a lookaround ((?=…), (?<=…)), which cannot run in time proportional to the text; write it without (PII rules run on every imported cell)`
        : `rule ${rule.name}: the pattern repeats something more than 16 times at once (like {17} or {32,}), which the linear-time engine PII rules run on cannot hold; split the count, e.g. [0-9a-f]{16}[0-9a-f]{16}[0-9a-f]* for {32,}`);
    }
    // Otherwise the linear engine is not on here (the renderer's check of a draft): the engine checks
    // again when the rule is saved or previewed. Meanwhile, the usual slow shapes are caught here.
  }
  if (!safeRegex(pattern)) throw new Error(`rule ${rule.name}: the pattern repeats a group that itself repeats (like (a+)+ or (\\w+\\s?)*), which can take exponential time on some text; write it with a single repeat`);
  if (repeatsAlternatives(rule.pattern)) throw new Error(`rule ${rule.name}: the pattern repeats a group of alternatives (like (a|ab)* or (?:x|y)+), which can take exponential time on some text; write the alternatives as a character class, or repeat them a fixed number of times`);
  return { name: rule.name, pattern };
}
