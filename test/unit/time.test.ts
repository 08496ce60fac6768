import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { ambiguousWallTime, detectUnit, isTimeZone, parseTimestamp, repeatedWallTimes, timeFormatProblem } from '../../shared/domain/time.js';
import { normaliseRow } from '../../shared/domain/normalize.js';

const auto = { unit: 'auto' as const };

describe('parseTimestamp', () => {
  it('reads ISO 8601 with Z and with offsets as the same instant', () => {
    expect(parseTimestamp('2026-09-01T12:00:00Z', auto)).toEqual({ ok: true, ms: Date.UTC(2026, 8, 1, 12) });
    expect(parseTimestamp('2026-09-01T14:00:00+02:00', auto)).toEqual({ ok: true, ms: Date.UTC(2026, 8, 1, 12) });
    expect(parseTimestamp('2026-09-01 07:30:00.250-0430', auto)).toEqual({ ok: true, ms: Date.UTC(2026, 8, 1, 12, 0, 0, 250) });
  });

  it('reads the near-ISO shapes real exports write, each as the instant it names', () => {
    const t = Date.UTC(2026, 10, 27, 15, 4, 5);
    const cases: Array<[string, number]> = [
      ['2026-11-27 15:04:05 UTC', t], // psql, many logs
      ['2026-11-27T15:04:05 GMT', t],
      ['2026-11-27 15:04:05+00', t], // PostgreSQL timestamptz
      ['2026-11-27 10:04:05.250-05', t + 250],
      ['2026-11-27 15:04:05.123 +0000 UTC', t + 123], // Go's time.String
      ['2026-11-27 10:04:05 -0500 EST', t],
      ['2026-11-27T15:04:05,123Z', t + 123], // ISO's comma before the fraction
      ['2026/11/27 15:04:05Z', t],
    ];
    for (const [text, ms] of cases) expect([text, parseTimestamp(text, auto)]).toEqual([text, { ok: true, ms }]);
    // Python's logging asctime: a comma fraction, no zone; the import's zone places it.
    expect(parseTimestamp('2026-11-27 16:04:05,500', { unit: 'auto', timeZone: 'Europe/Berlin' })).toEqual({ ok: true, ms: t + 500 });
  });

  it('lets a stated format decide everything but ISO 8601 proper: AM/PM, day-before-month with slashes, a zone literal', () => {
    const berlin = { unit: 'auto' as const, timeZone: 'Europe/Paris' };
    expect(parseTimestamp('2026-11-27 03:04:05 PM', { ...berlin, timeZone: 'UTC', format: 'yyyy-MM-dd hh:mm:ss a' })).toEqual({ ok: true, ms: Date.UTC(2026, 10, 27, 15, 4, 5) });
    expect(parseTimestamp('2026/03/04 10:00:00', { unit: 'auto', timeZone: 'UTC', format: 'yyyy/dd/MM HH:mm:ss' })).toEqual({ ok: true, ms: Date.UTC(2026, 3, 3, 10) });
    expect(parseTimestamp('2026-11-27 15:04:05 CET', { ...berlin, format: "yyyy-MM-dd HH:mm:ss 'CET'" })).toEqual({ ok: true, ms: Date.UTC(2026, 10, 27, 14, 4, 5) });
    // ISO proper still reads as itself under a stated format, as before.
    expect(parseTimestamp('2026-11-27T15:04:05Z', { unit: 'auto', format: 'dd.MM.yyyy HH:mm' })).toEqual({ ok: true, ms: Date.UTC(2026, 10, 27, 15, 4, 5) });
    // Without a format, PM is not a zone abbreviation: the time is unreadable, and says how to state it.
    const pm = parseTimestamp('2026-11-27 03:04:05 PM', { unit: 'auto', timeZone: 'UTC' });
    expect(pm.ok ? '' : pm.reason).toContain('or state its format');
  });

  it('refuses a zone named only by an abbreviation (CST is three zones), and mixed date separators', () => {
    for (const text of ['2026-11-27 15:04:05 EST', '2026-11-27 15:04:05 CET', '2026-11-27 15:04:05 UTC CET']) {
      const r = parseTimestamp(text, { unit: 'auto', timeZone: 'UTC' });
      expect([text, r.ok]).toEqual([text, false]);
      expect(r.ok ? '' : r.reason).toContain('names its zone by an abbreviation');
    }
    expect(parseTimestamp('2026/11-27 15:04:05Z', auto).ok).toBe(false);
    const odd = parseTimestamp('Fri, 27 Nov 2026 15:04:05 GMT', auto);
    expect(odd.ok ? '' : odd.reason).toContain('or state its format (the time format, --time-format on the command line');
  });

  it('classifies epoch numbers by magnitude', () => {
    const ms = Date.UTC(2026, 8, 1);
    expect(parseTimestamp(String(ms / 1000), auto)).toEqual({ ok: true, ms });
    expect(parseTimestamp(String(ms), auto)).toEqual({ ok: true, ms });
    expect(parseTimestamp(String(ms * 1000), auto)).toEqual({ ok: true, ms });
    expect(parseTimestamp(`${ms}000000`, auto)).toEqual({ ok: true, ms });
    expect(detectUnit(1451578374)).toBe('s');
  });

  it('refuses a guessed epoch time before 1990, naming the compact or spreadsheet date it more likely is', () => {
    const reason = (text: string, options = auto): string => { const r = parseTimestamp(text, options); return r.ok ? `ok ${new Date(r.ms).toISOString()}` : r.reason; };
    expect(reason('20240401')).toBe('timestamp 20240401 read as epoch seconds is 1970-08-23T06:20:01Z; it looks like a date written yyyyMMdd: state that format (the time format, --time-format yyyyMMdd on the command line)');
    expect(reason('202404011030')).toContain('it looks like a date written yyyyMMddHHmm');
    expect(reason('20240401103000')).toContain('it looks like a date written yyyyMMddHHmmss');
    expect(reason('45383.5')).toBe('timestamp 45383.5 read as epoch seconds is 1970-01-01T12:36:23.500Z; it looks like a spreadsheet\'s serial date (days since 1899-12-30): format that column as a date (yyyy-mm-dd hh:mm:ss) before exporting');
    expect(reason('300000000')).toContain('is 1979-07-05T05:20:00Z, which is not a plausible time for an export; if it is right, state the unit');
    // Past 2200 in any unit: seconds written with a unit of milliseconds' magnitude are year 5000+.
    expect(reason('99999999999')).toContain('is 5138-11-16T09:46:39Z, which is not a plausible time');
    // The boundaries: 1990 and 2199 are read.
    expect(reason(String(Date.UTC(1990, 0, 1) / 1000))).toBe('ok 1990-01-01T00:00:00.000Z');
    expect(reason(String(Date.UTC(2199, 11, 31)))).toBe('ok 2199-12-31T00:00:00.000Z');
  });

  it('trusts a stated unit from 1900 to 2200, and past that names the unit the number fits', () => {
    expect(parseTimestamp('300000000', { unit: 's' })).toEqual({ ok: true, ms: 300_000_000_000 });
    expect(parseTimestamp('-2000000000', { unit: 's' })).toEqual({ ok: true, ms: -2_000_000_000_000 });
    const ms = Date.UTC(2024, 3, 1);
    expect(parseTimestamp(String(ms), { unit: 's' })).toEqual({ ok: false, reason: `timestamp ${ms} read as epoch seconds is +056218-11-22T00:00:00Z, which is not a plausible time; as milliseconds it would be 2024-04-01 (the time unit, --time-unit on the command line)` });
    const r = parseTimestamp('-3000000000', { unit: 's' });
    expect(r.ok ? '' : r.reason).toBe('timestamp -3000000000 read as epoch seconds is 1874-12-07T18:40:00Z, which is not a plausible time');
  });

  it('reads digits in a stated format as that format, and other numbers still as epoch times', () => {
    const compact = { unit: 'auto' as const, timeZone: 'UTC', format: 'yyyyMMdd' };
    expect(parseTimestamp('20240401', compact)).toEqual({ ok: true, ms: Date.UTC(2024, 3, 1) });
    expect(parseTimestamp('202404011030', { ...compact, format: 'yyyyMMddHHmm', timeZone: 'Europe/Berlin' })).toEqual({ ok: true, ms: Date.UTC(2024, 3, 1, 8, 30) });
    expect(parseTimestamp('1711929600', compact)).toEqual({ ok: true, ms: Date.UTC(2024, 3, 1) });
    // A digit string the format cannot read and that is no plausible epoch time keeps the epoch reason.
    expect(parseTimestamp('20241301', compact).ok).toBe(false);
  });

  it('honours an explicit unit over the guess', () => {
    expect(parseTimestamp('1000', { unit: 'ms' })).toEqual({ ok: true, ms: 1000 });
    expect(parseTimestamp('1000', { unit: 's' })).toEqual({ ok: true, ms: 1_000_000 });
    expect(parseTimestamp('1711929600000', { unit: 'ms' })).toEqual({ ok: true, ms: 1711929600000 });
    expect(parseTimestamp('1711929600000000', { unit: 'us' })).toEqual({ ok: true, ms: 1711929600000 });
  });

  it('refuses timestamps without a zone unless one is given', () => {
    const r = parseTimestamp('2026-09-01T12:00:00', auto);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(/no time zone/);
    expect(parseTimestamp('2026-09-01T12:00:00', { unit: 'auto', timeZone: '+01:00' })).toEqual({ ok: true, ms: Date.UTC(2026, 8, 1, 11) });
  });

  it('refuses impossible dates and garbage with the value in the reason', () => {
    for (const bad of ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', 'yesterday', '12/09/2026', '2026-09-01T25:00:00Z']) {
      const r = parseTimestamp(bad, auto);
      expect(r.ok, bad).toBe(false);
    }
    const r = parseTimestamp('soon', auto);
    expect(r.ok ? '' : r.reason).toContain('"soon"');
  });

  it('agrees with Date for every Z timestamp the fast path takes', () => {
    fc.assert(fc.property(fc.date({ min: new Date('1971-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), (d) => {
      const whole = Math.floor(d.getTime() / 1000) * 1000;
      const text = new Date(whole).toISOString().replace('.000Z', 'Z');
      expect(parseTimestamp(text, auto)).toEqual({ ok: true, ms: whole });
    }));
  });
  it('knows each month\'s length on the fast path, leap years included', () => {
    for (const [text, ms] of [['2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)], ['2026-01-31T00:00:00Z', Date.UTC(2026, 0, 31)], ['2026-04-30T23:59:59.999Z', Date.UTC(2026, 3, 30, 23, 59, 59, 999)], ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)]] as const) {
      expect(parseTimestamp(text, auto), text).toEqual({ ok: true, ms });
    }
    for (const bad of ['2025-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-06-31T00:00:00.000Z', '2026-01-32T00:00:00Z']) {
      expect(parseTimestamp(bad, auto).ok, bad).toBe(false);
    }
  });

  it('applies a named zone\'s daylight saving time as of each timestamp', () => {
    const at = (text: string, timeZone: string): number | string => {
      const r = parseTimestamp(text, { unit: 'auto', timeZone });
      return r.ok ? r.ms : r.reason;
    };
    // Berlin: CET (+1) in winter, CEST (+2) from 2026-03-29 01:00Z to 2026-10-25 01:00Z.
    expect(at('2026-01-15 12:00:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 0, 15, 11));
    expect(at('2026-07-01T12:00:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 10));
    expect(at('2026-03-29 01:59:59', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 0, 59, 59));
    expect(at('2026-03-29 03:00:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 1));
    // New York: EST (-5) until 2026-03-08 07:00Z, then EDT (-4); milliseconds kept.
    expect(at('2026-03-08 01:30:00.250', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 6, 30, 0, 250));
    expect(at('2026-03-08 03:30:00', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 7, 30));
    // The hour that repeats when clocks go back reads as its later instant; one that never happens,
    // with the offset before the change (02:30 is 03:30 summer time, as Python, Java and Temporal
    // read it); fixed offsets are unchanged.
    expect(at('2026-10-25 02:30:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 9, 25, 1, 30));
    expect(at('2026-03-29 02:30:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 1, 30));
    expect(at('2026-03-08 02:30:00', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 7, 30));
    // Half-hour zones and steps: Lord Howe moves by 30 minutes (+10:30 ↔ +11), at 02:00 local.
    expect(at('2026-01-10 12:00:00', 'Australia/Lord_Howe')).toBe(Date.UTC(2026, 0, 10, 1));
    expect(at('2026-07-10 12:00:00', 'Australia/Lord_Howe')).toBe(Date.UTC(2026, 6, 10, 1, 30));
    expect(at('2026-07-01 12:00:00', '+02:00')).toBe(Date.UTC(2026, 6, 1, 10));
    // An offset in the text wins over the zone; an unknown zone is named.
    expect(at('2026-07-01T12:00:00Z', 'Asia/Tokyo')).toBe(Date.UTC(2026, 6, 1, 12));
    expect(at('2026-07-01 12:00:00', 'Mars/Olympus')).toBe('unknown time zone "Mars/Olympus": use UTC, an offset like +02:00, or a name like Europe/Berlin');
    expect(isTimeZone('Europe/Berlin') && isTimeZone('-05:30') && isTimeZone('UTC') && !isTimeZone('Mars/Olympus')).toBe(true);
  });

  it('reads any wall-clock time a named zone shows back to an instant the zone shows the same way', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'America/Santiago'];
    fc.assert(fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2035, 0, 1) }), fc.constantFrom(...zones), (instant, zone) => {
      const wall = (ms: number): string => new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(ms));
      const shown = wall(Math.floor(instant / 1000) * 1000);
      const r = parseTimestamp(shown, { unit: 'auto', timeZone: zone });
      expect(r.ok && wall(r.ms)).toBe(shown);
    }), { numRuns: 2000 });
  });

  it('reads years before 100 as those years, not as 1900-1999', () => {
    expect(parseTimestamp('0050-01-01T00:00:00Z', auto)).toEqual({ ok: true, ms: Date.parse('0050-01-01T00:00:00Z') });
    expect(parseTimestamp('0099-12-31T23:00:00+01:00', auto)).toEqual({ ok: true, ms: Date.parse('0099-12-31T22:00:00Z') });
    expect(parseTimestamp('0001-02-29T00:00:00Z', auto).ok).toBe(false);
  });

  it('reads milliseconds on the fast path exactly as toISOString writes them', () => {
    fc.assert(fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2099, 11, 31) }), (ms) => {
      const text = new Date(ms).toISOString();
      expect(parseTimestamp(text, auto)).toEqual({ ok: true, ms });
      // The general path (an explicit offset) agrees.
      expect(parseTimestamp(text.replace('Z', '+00:00'), auto)).toEqual({ ok: true, ms });
    }));
  });

  it('remembers only the last answer for the same options, never across options', () => {
    const plus2 = { unit: 'auto' as const, timeZone: '+02:00' };
    const utc = { unit: 'auto' as const, timeZone: 'UTC' };
    expect(parseTimestamp('2026-01-01T00:00:00', plus2)).toEqual({ ok: true, ms: Date.UTC(2025, 11, 31, 22) });
    expect(parseTimestamp('2026-01-01T00:00:00', utc)).toEqual({ ok: true, ms: Date.UTC(2026, 0, 1) });
    expect(parseTimestamp('2026-01-01T00:00:00', plus2)).toEqual({ ok: true, ms: Date.UTC(2025, 11, 31, 22) });
  });

  describe('in a stated format (spreadsheet and tool exports that are not ISO 8601)', () => {
    const us = { unit: 'auto' as const, timeZone: 'UTC', format: 'MM/dd/yyyy h:mm a' };
    const de = { unit: 'auto' as const, timeZone: 'Europe/Berlin', format: 'dd.MM.yyyy HH:mm:ss' };

    it('reads month-day and day-month dates as stated, never guessing', () => {
      expect(parseTimestamp('11/26/2026 3:45 PM', us)).toEqual({ ok: true, ms: Date.UTC(2026, 10, 26, 15, 45) });
      expect(parseTimestamp('03/04/2026 12:05 AM', us)).toEqual({ ok: true, ms: Date.UTC(2026, 2, 4, 0, 5) });
      expect(parseTimestamp('04/03/2026 00:05', { ...us, format: 'dd/MM/yyyy HH:mm' })).toEqual({ ok: true, ms: Date.UTC(2026, 2, 4, 0, 5) });
      // ISO and epoch values in the same file still read as themselves.
      expect(parseTimestamp('2026-11-26T15:45:00Z', us)).toEqual({ ok: true, ms: Date.UTC(2026, 10, 26, 15, 45) });
      expect(parseTimestamp('1795707900', us)).toEqual({ ok: true, ms: 1795707900_000 });
    });

    it('places the wall time in the import\'s zone, daylight saving included', () => {
      // Berlin: CET (+1) in winter, CEST (+2) in summer.
      expect(parseTimestamp('15.01.2026 12:00:00', de)).toEqual({ ok: true, ms: Date.UTC(2026, 0, 15, 11) });
      expect(parseTimestamp('15.07.2026 12:00:00', de)).toEqual({ ok: true, ms: Date.UTC(2026, 6, 15, 10) });
      expect(parseTimestamp('15.07.2026 12:00:00', { ...de, timeZone: undefined as unknown as string })).toEqual({ ok: false, reason: 'timestamp "15.07.2026 12:00:00" has no time zone; set the time zone (--time-zone on the command line)' });
      // A format with its own offset token says the instant itself.
      expect(parseTimestamp('26/11/2026 15:45 -05:00', { unit: 'auto', format: 'dd/MM/yyyy HH:mm xxx' })).toEqual({ ok: true, ms: Date.UTC(2026, 10, 26, 20, 45) });
    });

    it('names the format a value does not match, and refuses impossible dates', () => {
      expect(parseTimestamp('26/11/2026 3:45 PM', us)).toEqual({ ok: false, reason: 'timestamp "26/11/2026 3:45 PM" does not match the time format "MM/dd/yyyy h:mm a"' });
      expect(parseTimestamp('02/30/2026 1:00 AM', us).ok).toBe(false);
      expect(parseTimestamp('11/26/2026 3:45 PM trailing', us).ok).toBe(false);
    });

    it('without a format, says that a local-order date needs one', () => {
      expect(parseTimestamp('11/26/2026 15:45', auto)).toEqual({ ok: false, reason: 'unparseable timestamp "11/26/2026 15:45"; dates written like this need their format stated (the time format, --time-format on the command line, e.g. MM/dd/yyyy HH:mm or dd.MM.yyyy HH:mm)' });
      expect(parseTimestamp('next tuesday', auto)).toEqual({ ok: false, reason: 'unparseable timestamp "next tuesday"; write ISO 8601 or epoch time, or state its format (the time format, --time-format on the command line, in date-fns tokens, e.g. "EEE, dd MMM yyyy HH:mm:ss \'GMT\'" or "MMM d, yyyy h:mm:ss a")' });
    });

    it('reads a wall time the machine\'s own zone skips (New York, 2026-03-08 02:30) as written', () => {
      // date-fns parses in the process's zone; the importer must not. Run where that zone has a DST gap.
      const script = `import { parseTimestamp } from ${JSON.stringify(new URL('../../shared/domain/time.ts', import.meta.url).href)};
        console.log(JSON.stringify(parseTimestamp('03/08/2026 2:30 AM', { unit: 'auto', timeZone: 'UTC', format: 'MM/dd/yyyy h:mm a' })));`;
      const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TZ: 'America/New_York' }, encoding: 'utf8' });
      expect(out.stderr).toBe('');
      expect(JSON.parse(out.stdout)).toEqual({ ok: true, ms: Date.UTC(2026, 2, 8, 2, 30) });
    });

    it('does not depend on the process\'s own time zone', () => {
      // Any instant a UTC wall clock shows, written in the format, reads back to itself.
      fc.assert(fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }), (t) => {
        const ms = Math.floor(t / 60_000) * 60_000;
        const d = new Date(ms);
        const pad = (n: number): string => String(n).padStart(2, '0');
        const text = `${pad(d.getUTCDate())}.${pad(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
        expect(parseTimestamp(text, { unit: 'auto', timeZone: 'UTC', format: 'dd.MM.yyyy HH:mm' })).toEqual({ ok: true, ms });
      }), { numRuns: 300 });
    });

    it('checks a format before any row is read, in date-fns\' words', () => {
      expect(timeFormatProblem('dd.MM.yyyy HH:mm')).toBeNull();
      expect(timeFormatProblem('DD.MM.YYYY')).toMatch(/Use `dd` instead of `DD`|Use `yyyy` instead of `YYYY`/);
      // A zone's name can be written but not read ("PST" means three places): refused up front.
      expect(timeFormatProblem('yyyy-MM-dd HH:mm:ss z')).toMatch(/unescaped latin alphabet character `z`.*use XXX \(\+02:00\), xx \(\+0200\) or X \(Z\)/);
      expect(timeFormatProblem('yyyy-MM-dd HH:mm:ss XXX')).toBeNull();
    });

    it('reads a two-digit year as 1950-2049, never 1924 for an Excel short date of 2024', () => {
      const short = { unit: 'auto' as const, timeZone: 'UTC', format: 'M/d/yy H:mm' };
      expect(parseTimestamp('3/10/24 1:05', short)).toEqual({ ok: true, ms: Date.UTC(2024, 2, 10, 1, 5) });
      expect(parseTimestamp('12/31/49 23:00', short)).toEqual({ ok: true, ms: Date.UTC(2049, 11, 31, 23) });
      expect(parseTimestamp('1/1/50 0:00', short)).toEqual({ ok: true, ms: Date.UTC(1950, 0, 1) });
    });
  });
});

describe('wall times that happen twice', () => {
  it('read as the later instant in every zone, west of UTC as east of it, when nothing nearer says otherwise', () => {
    const at = (text: string, timeZone: string): number | string => {
      const r = parseTimestamp(text, { unit: 'auto', timeZone });
      return r.ok ? r.ms : r.reason;
    };
    expect(at('2024-11-03 01:10:00', 'America/New_York')).toBe(Date.UTC(2024, 10, 3, 6, 10)); // EST, not EDT's 05:10Z
    expect(at('2024-10-27 02:30:00', 'Europe/Berlin')).toBe(Date.UTC(2024, 9, 27, 1, 30)); // CET
    expect(at('2024-04-07 02:30:00', 'Australia/Sydney')).toBe(Date.UTC(2024, 3, 6, 16, 30)); // AEST (+10), not AEDT
  });

  it('keep both passes of the repeated hour apart in a time-ordered export, oldest or newest first, and are counted', () => {
    // A Grafana panel in Europe/Berlin, every 10 minutes from 01:00 CEST to 04:00 CET on 2024-10-27:
    // the wall clock runs 01:00 … 02:50, 02:00 … 02:50 again, 03:00 ….
    const instants = Array.from({ length: 25 }, (_, i) => Date.UTC(2024, 9, 26, 23) + i * 600_000);
    const wall = (t: number): string => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(t));
    for (const order of [instants, [...instants].reverse()]) {
      const options = { unit: 'auto' as const, timeZone: 'Europe/Berlin' };
      const read = order.map((t) => { const r = parseTimestamp(wall(t), options); return r.ok ? r.ms : NaN; });
      expect(read).toEqual(order);
      expect(repeatedWallTimes(options)).toEqual({ count: 12, example: wall(instants[order === instants ? 6 : 17]!) });
    }
    // Formatted times (a stated format) go the same way.
    const de = { unit: 'auto' as const, timeZone: 'Europe/Berlin', format: 'dd.MM.yyyy HH:mm' };
    const text = (t: number): string => wall(t).replace(/^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d):\d\d$/, '$3.$2.$1 $4');
    expect(instants.map((t) => { const r = parseTimestamp(text(t), de); return r.ok ? r.ms : NaN; })).toEqual(instants);
    expect(repeatedWallTimes(de)?.count).toBe(12);
    expect(repeatedWallTimes({ unit: 'auto', timeZone: 'Europe/Berlin' })).toBeNull();
  });

  it('are recognised in the hour clocks go back, and named when they make a row inconsistent', () => {
    const zone = 'America/Los_Angeles';
    // 2024-11-03 01:30 happens at 08:30Z (PDT) and again at 09:30Z (PST).
    expect(ambiguousWallTime(zone, Date.UTC(2024, 10, 3, 9, 30))).toBe(true);
    expect(ambiguousWallTime(zone, Date.UTC(2024, 10, 3, 8, 30))).toBe(true); // its twin
    expect(ambiguousWallTime(zone, Date.UTC(2024, 10, 3, 7, 30))).toBe(false); // 00:30 PDT happens once
    expect(ambiguousWallTime(zone, Date.UTC(2024, 10, 3, 12, 0))).toBe(false);
    expect(ambiguousWallTime('+02:00', Date.UTC(2024, 10, 3, 9, 30))).toBe(false);
    const row = normaliseRow('incidents', { id: 'i', service: 's', severity: '2', started: '2024-11-03T01:30:00', resolved: '2024-11-03T01:10:00' }, {}, { time: { unit: 'auto', timeZone: zone } });
    expect(row).toEqual({ ok: false, reason: 'resolved is before started; started is a local time that happens twice in America/Los_Angeles as daylight saving time ends. Give these times with their offset (01:30-07:00 or 01:30-08:00) to say which' });
    // Elsewhere the plain message stands.
    expect(normaliseRow('incidents', { id: 'i', service: 's', severity: '2', started: '2024-11-05T01:30:00', resolved: '2024-11-05T01:10:00' }, {}, { time: { unit: 'auto', timeZone: zone } })).toEqual({ ok: false, reason: 'resolved is before started' });
  });
});
