import Papa from 'papaparse';
import { PassThrough, type Readable } from 'node:stream';
import type { RawRow, RecordReader } from './reader.js';

/**
 * Generic delimited text with a header row, parsed by papaparse (about 5× csv-parse's speed on
 * long telemetry here: 1.1M vs 0.19M rows/s). Rows with the wrong number of fields are reported, not
 * guessed at. Line numbers are counted from the rows themselves: one per row plus the line breaks
 * inside quoted fields, so they stay right across multi-line values and empty lines.
 */

/**
 * A CSV row: its cells in header order, and `values` (column → cell) only if someone asks. The
 * importer reads cells by index; an object per row with the header's keys cost more than parsing it.
 */
class CsvRow {
  private named: Record<string, unknown> | null = null;
  constructor(readonly line: number, readonly cells: readonly string[], private readonly header: readonly string[]) {}
  get values(): Record<string, unknown> {
    if (!this.named) {
      const named = Object.create(null) as Record<string, unknown>; // (a column may be named `__proto__`)
      for (let i = 0; i < this.header.length; i++) named[this.header[i]!] = this.cells[i];
      this.named = named;
    }
    return this.named;
  }
}

const DELIMITERS = [',', ';', '\t'];

// Mostly a file in a legacy code page: Excel's plain "CSV" is Windows-1252 in western locales.
const INVALID_UTF8 = 'invalid UTF-8 in this row (is the file in another encoding, such as Windows-1252, which Excel\'s plain "CSV" writes? Save it as "CSV UTF-8", or convert it: iconv -f windows-1252 -t utf-8)';

/**
 * The delimiter, guessed from the file's first bytes with empty lines left out. papaparse's own guess
 * counts the empty line a file ends with as a row of one field, so a two-column file separated by
 * semicolons or tabs (time;value) averaged under its two-field bar and was read as one column.
 * Excel's `sep=;` hint line says it outright. Undefined: let papaparse guess as it reads.
 */
export function guessDelimiter(head: Buffer): string | undefined {
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const hint = /^sep=(.)\r?\n/i.exec(text);
  if (hint && DELIMITERS.includes(hint[1]!)) return hint[1];
  // The last line of a head may be cut off mid-row: leave it out.
  const whole = text.slice(0, Math.max(0, text.lastIndexOf('\n')));
  const result = Papa.parse<string[]>(whole, { preview: 10, delimitersToGuess: DELIMITERS, skipEmptyLines: 'greedy' });
  return result.errors.some((e) => e.code === 'UndetectableDelimiter') ? undefined : result.meta.delimiter;
}

/**
 * The line break to split on. Always `\n` (a `\r` before it is trimmed with the cell), except for a
 * file whose head has `\r` and no `\n` at all (classic Mac). papaparse's own guess, made once from the
 * first chunk, kept `\r\n` for the whole file: LF lines after CRLF ones (a Windows export with lines
 * appended on Linux) were glued into one row, and rows were lost.
 */
export function guessNewline(head: Buffer): '\n' | '\r' {
  return head.includes(0x0d) && !head.includes(0x0a) ? '\r' : '\n';
}

/**
 * Whole lines of the file with no quote character in them, handed on as text: each line is one row,
 * its cells what `split(delimiter)` gives, exactly as papaparse reads quote-free text (its "fast
 * mode" is that split). A reader that wants only a few cells of each row (long telemetry) finds
 * them in the text without an array and a string per cell; `row` reads one line the general way.
 */
export class PlainLines {
  constructor(
    readonly text: string,
    /** the file line of the text's first line */
    readonly firstLine: number,
    readonly delimiter: string,
    private readonly toRow: (cells: string[], at: number) => RawRow | null,
  ) {}

  /** The line from `start` to `end` (its `\n` left out) as `batches()` would hand it on; null for a blank-looking one. */
  row(start: number, end: number, at: number): RawRow | null {
    return this.toRow(this.text.slice(start, end).split(this.delimiter), at);
  }
}

export interface CsvReader extends RecordReader {
  /** Like `batches()`, but quote-free stretches of the file come as PlainLines. */
  plainBatches(): AsyncIterable<Array<RawRow | PlainLines>>;
}

type Chunk = { rows: string[][]; errors: Map<number, string> } | { lines: string };

/** Lines in a stretch of whole lines (the last may lack its `\n` at the end of the file). */
function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return text.length > 0 && text.charCodeAt(text.length - 1) !== 10 ? n + 1 : n;
}

/**
 * `plain: false` reads every line through papaparse (tests compare the two ways). Otherwise, with the
 * delimiter known and lines ending in `\n`, the file is cut into whole lines here and papaparse
 * reads it only from the first line with a quote character on: splitting quote-free lines is what
 * papaparse does with them too, at a fifth of the time (0.2 against 0.9–1.1 s per million rows),
 * and a quoted field may hold line breaks, so past the first quote only a real parser finds rows.
 */
export function csvReader(input: Readable, delimiter?: string, newline: '\n' | '\r' = '\n', options: { plain?: boolean } = {}): CsvReader {
  const queue: Chunk[] = [];
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const enqueue = (chunk: Chunk): void => {
    queue.push(chunk);
    // Backpressure on the text stream, not the parser (papaparse never completes a parser paused
    // on its last chunk): a few chunks buffered at most, so memory does not grow with the file.
    if (queue.length >= 4) text.pause();
    notify();
  };
  // Decoded as a stream, so a character split between two reads stays whole (papaparse would decode
  // each Buffer on its own); the caller's stream keeps its bytes for hashing.
  const text = new PassThrough();
  text.setEncoding('utf8');
  input.on('error', (err) => {
    failure = err;
    text.destroy(err);
    notify();
  });
  input.pipe(text);
  const parse = (from: Readable): void => {
    Papa.parse<string[]>(from as unknown as Papa.LocalFile, {
      // Commas, or what spreadsheets in many locales write instead (semicolons) and tab-separated
      // exports: papaparse picks the one that splits the first rows into equal field counts.
      delimiter: delimiter ?? '',
      delimitersToGuess: DELIMITERS,
      newline,
      skipEmptyLines: false,
      chunkSize: 1 << 20,
      chunk(results) {
        const errors = new Map<number, string>();
        for (const e of results.errors) if (e.row !== undefined) errors.set(e.row, e.message);
        enqueue({ rows: results.data, errors });
      },
      complete() {
        ended = true;
        notify();
      },
      error(err: Error) {
        failure = err;
        notify();
      },
    });
  };
  if (delimiter === undefined || newline !== '\n' || options.plain === false) parse(text);
  else {
    let carry = ''; // the line under way
    let rest: PassThrough | null = null; // papaparse's input, from the first line with a quote on
    text.on('data', (piece: string) => {
      if (rest) {
        rest.write(piece);
        return;
      }
      const all = carry.length > 0 ? carry + piece : piece;
      const quote = all.indexOf('"');
      if (quote >= 0) {
        const from = all.lastIndexOf('\n', quote) + 1;
        if (from > 0) enqueue({ lines: all.slice(0, from) });
        carry = '';
        rest = new PassThrough();
        rest.setEncoding('utf8');
        parse(rest);
        rest.write(all.slice(from));
        return;
      }
      const last = all.lastIndexOf('\n');
      if (last >= 0) enqueue({ lines: all.slice(0, last + 1) });
      carry = all.slice(last + 1);
    });
    // (papaparse listens for the stream's errors when it reads it; here nobody else does.)
    text.on('error', (err) => {
      failure ??= err;
      notify();
    });
    text.on('end', () => {
      if (rest) return void rest.end();
      if (carry.length > 0) queue.push({ lines: carry });
      ended = true;
      notify();
    });
  }

  async function* chunks(): AsyncIterable<Chunk> {
    for (;;) {
      const next = queue.shift();
      if (queue.length < 2 && text.isPaused()) text.resume();
      if (next) {
        yield next;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  const source = chunks()[Symbol.asyncIterator]();
  let pending: { chunk: Chunk; from: number } | null = null;
  let header: string[] | null = null;
  let headerRead = false;
  let line = 0;
  const newlines = (record: string[]): number => {
    let n = 0;
    for (const field of record) for (let i = field.indexOf('\n'); i >= 0; i = field.indexOf('\n', i + 1)) n++;
    return n;
  };
  // An empty line, one of only spaces (or the `\r` of a CRLF one), and a row of empty cells (`;;;`,
  // what Excel writes for a formatted but empty row): nothing in them, so skipped, not bad rows.
  const isEmpty = (record: string[]): boolean => {
    const first = record[0]!;
    if (first.length > 0 && first.charCodeAt(0) > 32) return false; // the usual row, at once
    if (first.trim() !== '') return false;
    for (let i = 1; i < record.length; i++) if (record[i]!.trim() !== '') return false;
    return true;
  };
  // `sep=,` (or `sep=;`): Excel's hint line, split by the delimiter it names into "sep=" and "".
  const isSepLine = (record: string[]): boolean => record.length <= 2 && /^sep=.?$/i.test((record[0] ?? '').trim()) && (record[1] ?? '').trim() === '';

  async function readHeader(): Promise<string[] | null> {
    if (headerRead) return header;
    headerRead = true;
    for (;;) {
      const next = await source.next();
      if (next.done) return null;
      const chunk = next.value;
      if ('lines' in chunk) {
        const all = chunk.lines;
        for (let s = 0; s < all.length; ) {
          let e = all.indexOf('\n', s);
          if (e < 0) e = all.length;
          const record = all.slice(s, e).split(delimiter!);
          s = e + 1;
          line++;
          // Empty lines, and the `sep=,` line Excel-bound exports (Grafana's "Download for Excel") start with.
          if (isEmpty(record) || isSepLine(record)) continue;
          header = headerOf(record);
          pending = { chunk: { lines: all.slice(s) }, from: 0 };
          return header;
        }
        continue;
      }
      const rows = chunk.rows;
      let i = 0;
      while (i < rows.length && (isEmpty(rows[i]!) || isSepLine(rows[i]!))) {
        line++;
        i++;
      }
      if (i === rows.length) continue;
      line += 1 + newlines(rows[i]!);
      header = headerOf(rows[i]!);
      pending = { chunk, from: i + 1 };
      return header;
    }
  }
  const headerOf = (record: string[]): string[] => record.map((h, k) => (k === 0 ? h.replace(/^\uFEFF/, '') : h).trim());

  /** One record as a row, a located error, or null for a blank-looking line (skipped). */
  const toRow = (record: string[], at: number, error?: string): RawRow | null => {
    const columns = header!;
    const width = columns.length;
    if (isEmpty(record)) return null;
    // An unclosed quote takes every line after it into one cell: that is not one bad row but
    // the end of what can be read (the rows after it would be lost without a count).
    if (error === 'Quoted field unterminated') throw new Error(`line ${at}: a quoted field opens here and is never closed, so nothing after it can be read as rows (a stray " in a cell?)`);
    if (error !== undefined) return { line: at, error: `malformed CSV: ${error}` };
    // Spreadsheets often end rows with empty cells past the header (`…,42,,`): nothing is lost dropping those.
    if (record.length > width && record.slice(width).every((cell) => cell.trim() === '')) record.length = width;
    if (record.length !== width) return { line: at, error: `expected ${width} fields (${columns.join(',')}), found ${record.length}` };
    // Invalid UTF-8 decodes to U+FFFD instead of failing; a replacement character in an export
    // is almost always damage, so the row is refused where it can be located.
    let damaged = false;
    for (let i = 0; i < width; i++) {
      const field = record[i]!;
      if (field.includes('\uFFFD')) damaged = true;
      record[i] = field.trim();
    }
    return damaged ? { line: at, error: INVALID_UTF8 } : new CsvRow(at, record, columns);
  };

  /** The chunks after the header, each as it came (rows from papaparse, or whole quote-free lines). */
  async function* chunksAfterHeader(): AsyncIterable<Chunk & { from?: number }> {
    if (pending) {
      const { chunk, from } = pending;
      pending = null;
      yield { ...chunk, from };
    }
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      yield next.value;
    }
  }

  const rowsOf = (chunk: { rows: string[][]; errors: Map<number, string> }, from: number, out: RawRow[]): void => {
    for (let r = from; r < chunk.rows.length; r++) {
      const record = chunk.rows[r]!;
      const at = line + 1;
      line += 1 + newlines(record);
      const row = toRow(record, at, chunk.errors.get(r));
      if (row) out.push(row);
    }
  };

  return {
    columns: readHeader,
    async *batches() {
      if (!(await readHeader())) return;
      for await (const chunk of chunksAfterHeader()) {
        const out: RawRow[] = [];
        if ('lines' in chunk) {
          const all = chunk.lines;
          for (let s = 0; s < all.length; ) {
            let e = all.indexOf('\n', s);
            if (e < 0) e = all.length;
            const row = toRow(all.slice(s, e).split(delimiter!), ++line);
            if (row) out.push(row);
            s = e + 1;
          }
        } else rowsOf(chunk, chunk.from ?? 0, out);
        yield out;
      }
    },
    async *plainBatches() {
      if (!(await readHeader())) return;
      for await (const chunk of chunksAfterHeader()) {
        if ('lines' in chunk) {
          if (chunk.lines.length === 0) continue;
          const lines = new PlainLines(chunk.lines, line + 1, delimiter!, (cells, at) => toRow(cells, at));
          line += lineCount(chunk.lines);
          yield [lines];
        } else {
          const out: RawRow[] = [];
          rowsOf(chunk, chunk.from ?? 0, out);
          yield out;
        }
      }
    },
  };
}
