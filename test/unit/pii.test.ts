import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUILTIN_RULES, compileRule, makeScrubber, scrubRow } from '../../shared/domain/pii.js';
import type { NormalRow } from '../../shared/domain/normalize.js';

const scrub = (text: string): string => makeScrubber(BUILTIN_RULES, (v) => v.length.toString(16).padStart(8, '0')).text(text);

describe('PII rules', () => {
  it.each([
    ['mail ana.lima@example.org now', 'mail [redacted:email] now'],
    ['from 192.168.0.12:8080', 'from [redacted:ipv4]:8080'],
    ['peer fe80::1ff:fe23:4567:890a up', 'peer [redacted:ipv6] up'],
    ['Authorization: Bearer abcDEF123456789._-x', 'Authorization: [redacted:bearer-token]'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end', 'token [redacted:jwt] end'],
    ['key AKIAIOSFODNN7EXAMPLE', 'key [redacted:aws-access-key]'],
    ['clone postgres://app:s3cret@db.internal:5432/prod', 'clone [redacted:url-credentials]/prod'],
    ['-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY----- done', '[redacted:private-key] done'],
    ['Authorization: Basic YWxpY2U6aHVudGVyMg==', 'Authorization: [redacted:basic-auth]'],
    ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '[redacted:secret-setting]'],
    ['retry with password=hunter2&user=ana', 'retry with [redacted:secret-setting]&user=ana'],
    ['pwd=hunter2', '[redacted:secret-setting]'],
    ['"client_secret": "abc123def"', '"[redacted:secret-setting]'],
    ['gh token ghp_1234567890abcdefghijklmnopqrstuvwxyzAB', 'gh token [redacted:github-token]'],
    ['bot xoxb-123456789012-abcdefghij', 'bot [redacted:slack-token]'],
    ['hook https://hooks.slack.com/services/T000/B000/XXXXXXXX', 'hook [redacted:slack-token]'],
    ['maps AIzaSyA1234567890abcdefghijklmnopqrstuv', 'maps [redacted:gcp-api-key]'],
    ['keys sk_live_abcdefghij1234 sk-proj-abcdefghijklmnopqrstuvwx', 'keys [redacted:api-key] [redacted:api-key]'],
    ['host 010.001.002.003', 'host [redacted:ipv4]'],
    ['env POSTGRES_PASSWORD=hunter2 GITHUB_TOKEN=abcd1234', 'env [redacted:secret-setting] [redacted:secret-setting]'],
    ['db_password: hunter2', '[redacted:secret-setting]'],
    ['{"password": "correct horse battery"}', '{"[redacted:secret-setting]}'],
    ["db_password='p@ss w0rd'", '[redacted:secret-setting]'],
    ['Authorization: basic dXNlcjpwYXNzd29yZA==', 'Authorization: [redacted:basic-auth]'],
    // A colon with a value that is not a plain lowercase word, or an "=", is still a setting.
    ['password: S3cret!', '[redacted:secret-setting]'],
    ['token=refresh', '[redacted:secret-setting]'],
    ['token: "refresh"', '[redacted:secret-setting]'],
    // An address after other words is still an address, a version word further back is no cover.
    ['connect to 10.0.0.4 failed', 'connect to [redacted:ipv4] failed'],
    ['release notes mention host 10.0.0.4', 'release notes mention host [redacted:ipv4]'],
  ])('redacts %j', (input, output) => {
    expect(scrub(input)).toBe(output);
  });

  it.each(['v2.10.3', '2026-09-01T10:00:00Z', 'deploy at 12:30', 'sha 9f86d081884c7d659a2feaa0c55ad015', 'https://example.org/path', 'Bearer', 'p99 latency 412 ms', 'password reset flow fixed', 'the secret sauce', 'tokens: 5', 'Basic auth removed', 'Basic Authentication is disabled on edge-gateway', 'retry with Basic backoffStrategy', 'svc sk-payments-processor-eu-west-1',
    // Four-part versions where the words before say version, and "key: word" in prose.
    'release 3.1.0.12', 'Rollback to 4.2.0.117', 'deploy v10.0.0.4', 'build: 1.2.3.4', 'Session token: refresh failing for mobile clients', 'Password: reset flow broken'])('leaves %j alone', (input) => {
    expect(scrub(input)).toBe(input);
  });

  it('keys identifiers and people, stably, and counts every occurrence', () => {
    const s = makeScrubber(BUILTIN_RULES, (v) => (v.includes('x') ? 'aaaaaaaaaaaa' : 'bbbbbbbbbbbb'));
    expect(s.id('svc-x@corp.io')).toBe('[redacted:email:aaaaaaaa]');
    expect(s.id('svc-y@corp.io')).toBe('[redacted:email:bbbbbbbb]');
    expect(s.id('svc-x@corp.io')).toBe('[redacted:email:aaaaaaaa]');
    expect(s.person(' Ana ')).toBe(s.person('ana'));
    expect(s.counts).toEqual({ email: 3, pseudonym: 2 });
  });

  it('runs a rule on the linear-time engine where it is on, refusing what it cannot hold; elsewhere catches the slow shapes', () => {
    // Test processes may or may not have V8's linear engine on (the engine turns it on when loaded).
    const linear = ((): boolean => {
      try {
        return new RegExp('a', 'l').flags.includes('l');
      } catch {
        return false;
      }
    })();
    if (linear) {
      expect(() => compileRule({ name: 'hexid', pattern: '\\b[0-9a-f]{32,}\\b' })).toThrow(/^rule hexid: the pattern repeats something more than 16 times at once .* \[0-9a-f\]\{16\}\[0-9a-f\]\{16\}\[0-9a-f\]\*/);
      expect(compileRule({ name: 'hexid', pattern: '\\b[0-9a-f]{16}[0-9a-f]{16}[0-9a-f]*\\b' }).pattern.flags).toBe('gl');
    } else {
      expect(compileRule({ name: 'hexid', pattern: '\\b[0-9a-f]{32,}\\b' }).pattern.test('id 9f86d081884c7d659a2feaa0c55ad015')).toBe(true);
    }
    // A repeated group of alternatives is refused either way, by the one check or the other.
    expect(() => compileRule({ name: 'alt', pattern: '(?:a|ab){0,40}c' })).toThrow(/^rule alt: the pattern repeats/);
    expect(() => compileRule({ name: 'alt', pattern: '(x|xy){17,}$' })).toThrow(/^rule alt: the pattern repeats/);
    // Alternatives that are not repeated, and a short repeat, are fine.
    expect(compileRule({ name: 'emp', pattern: '(?:EMP|CTR)-[0-9]{16}' }).pattern.test('EMP-1234567890123456')).toBe(true);
  });

  it('gives a git-style author ("Name <address>") the pseudonym of the bare address, and other people other ones', () => {
    const s = makeScrubber(BUILTIN_RULES, (v) => createHash('sha256').update(v).digest('hex'));
    const ana = s.person('ana.lima@corp.example.com');
    expect(s.person('Ana Lima <Ana.Lima@corp.example.com>')).toBe(ana);
    expect(s.person('Ana Lima <ana.lima@other.example.com>')).not.toBe(ana);
    expect(s.person('Ana Lima')).not.toBe(ana);
  });

  it('refuses a bad extra rule by name', () => {
    expect(() => compileRule({ name: 'ticket', pattern: '[' })).toThrow(/^rule ticket: Invalid regular expression/);
    expect(() => compileRule({ name: 'Bad Name', pattern: 'x' })).toThrow(/must be 1-40 lowercase/);
  });
  it('skips the rules only for values no built-in rule can match (short, no "@", ":", "=" or ".")', () => {
    const alphabet = fc.constantFrom(...'aeAKIJ019-_ /@:.=BearerXYZ'.split(''));
    // Pieces of the secrets the rules know, so short near-misses and hits are both drawn.
    const pieces = fc.constantFrom('pwd', 'token', 'secret', '=', ': ', '"', 'Basic ', 'YWxpY2U6', 'xoxb-', 'ghp_', 'sk_live_', 'AIza', 'ab', '0123456789', '@', '.', 'x');
    const values = fc.oneof(fc.string({ unit: alphabet, maxLength: 30 }), fc.array(pieces, { maxLength: 6 }).map((p) => p.join('')));
    fc.assert(fc.property(values, (value) => {
      // A match a rule keeps (a version number, a word after "token:") is no hit.
      const direct = BUILTIN_RULES.some((r) => [...value.matchAll(new RegExp(r.pattern.source, r.pattern.flags))].some((m) => !r.keep?.(m[0], value.slice(Math.max(0, m.index - 30), m.index))));
      if (value.length < 15 && !/[@:.=]/.test(value)) expect(direct).toBe(false);
      // Whatever the shortcut, the answer is the rules' answer.
      expect(scrub(value) !== value).toBe(direct);
    }), { numRuns: 2000 });
  });

  it('applies a workspace rule to short names too (no shortcut when there are extra rules)', () => {
    const s = makeScrubber([...BUILTIN_RULES, compileRule({ name: 'customer', pattern: 'acme' })], () => 'cccccccccccc');
    expect(s.id('acme-web')).toBe('[redacted:customer:cccccccc]-web');
    expect(s.counts).toEqual({ customer: 1 });
  });
});

describe('scrubbing rows that share one labels object', () => {
  const keyed = (v: string): string => v.split('').reverse().join('').padEnd(12, '0');
  const row = (labels: Record<string, string>, ts: number): NormalRow => ({ kind: 'telemetry', ts, service: 'api', metric: 'up', labels, value: 1 });

  it('scrubs the set once and counts it for every row, exactly as scrubbing each row afresh', () => {
    // A Prometheus series: every sample carries the same labels object, with an address and an owner.
    const shared = { instance: '10.0.0.7:9100', owner: 'Ana', zone: 'eu-1' };
    const memo = makeScrubber(BUILTIN_RULES, keyed);
    const fresh = makeScrubber(BUILTIN_RULES, keyed);
    const other = { instance: 'db.internal:5432', zone: 'eu-1' };
    const rows = [row(shared, 1), row(shared, 2), row(shared, 3), row(other, 4), row(shared, 5), row({ zone: 'eu-1' }, 6)];
    const memoed = rows.map((r) => scrubRow(r, memo));
    // The same content in a new object each time: no reuse possible.
    const afresh = rows.map((r) => scrubRow({ ...r, labels: { ...(r as { labels: Record<string, string> }).labels } } as NormalRow, fresh));
    expect(memoed).toEqual(afresh);
    expect(memo.counts).toEqual(fresh.counts);
    expect(memo.counts.pseudonym).toBe(4);
    expect((memoed[0] as { labels: Record<string, string> }).labels.instance).toMatch(/^\[redacted:/);
    expect((memoed[0] as { labels: Record<string, string> }).labels.owner).toMatch(/^person-/);
    // Rows after the first of a run share the scrubbed set too.
    expect((memoed[1] as { labels: object }).labels).toBe((memoed[0] as { labels: object }).labels);
  });
});


describe('scrubbing change attributes named after people', () => {
  it('keeps two headers that differ only in the address they name as two attributes, each counted once', () => {
    const s = makeScrubber(BUILTIN_RULES, (v) => createHash('sha256').update(v).digest('hex'));
    const change = (i: number): NormalRow => ({
      kind: 'changes', externalId: `c${i}`, service: 'api', ts: i, changeKind: 'deploy', author: null, version: null, description: null,
      attributes: { 'reviewer_alice@x.example': 1, 'reviewer_bob@y.example': 2, lines_added: 10 }, rolledBack: null, outcome: null,
    });
    const rows = [0, 1, 2].map((i) => scrubRow(change(i), s) as { attributes: Record<string, number> });
    const keys = Object.keys(rows[0]!.attributes).sort();
    expect(keys).toHaveLength(3);
    expect(keys.filter((k) => /^\[redacted:email:[0-9a-f]{8}\]$/.test(k))).toHaveLength(2);
    expect(Object.values(rows[0]!.attributes).sort()).toEqual([1, 10, 2]);
    // A file's header is the same on every row: scrubbed and counted once per header.
    expect(s.counts.email).toBe(2);
    expect(rows[2]).toEqual({ ...rows[0], externalId: 'c2', ts: 2 });
  });

  it('keeps a four-part version number in the version field (distinct deploys stay distinct), and scrubs other text there', () => {
    const s = makeScrubber(BUILTIN_RULES, (v) => createHash('sha256').update(v).digest('hex'));
    const change = (version: string, description: string): NormalRow => ({
      kind: 'changes', externalId: 'c1', service: 'api', ts: 0, changeKind: 'deploy', author: null, version, description, attributes: {}, rolledBack: null, outcome: null,
    });
    expect(scrubRow(change('4.2.0.117', 'Rollback to 4.2.0.117 after errors from 10.1.2.3'), s)).toMatchObject({ version: '4.2.0.117', description: 'Rollback to 4.2.0.117 after errors from [redacted:ipv4]' });
    expect(scrubRow(change('v1.2.3-rc.1+build.5', 'x'), s)).toMatchObject({ version: 'v1.2.3-rc.1+build.5' });
    expect(scrubRow(change('built by ana@corp.example', 'x'), s)).toMatchObject({ version: 'built by [redacted:email]' });
    expect(s.counts).toEqual({ ipv4: 1, email: 1 });
  });
});
