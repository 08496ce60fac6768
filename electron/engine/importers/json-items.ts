/**
 * Finds the values at the paths matching a filter in JSON text that arrives in pieces (one or more
 * documents, one after another), and parses each of them with JSON.parse.
 *
 * Why not a streaming JSON parser: stream-json turns every number and string of every sample into
 * tokens that travel through three object-mode streams; a 1M-sample Prometheus response took 14 s.
 * Here only the structure around the items is read (brackets, keys, commas), an item's extent is
 * found by counting brackets outside strings, and the engine's own JSON.parse builds it. Memory holds
 * one item, as before. stream-json stays the reference this is tested against.
 *
 * Paths are as stream-json's Pick spells them with "." between parts: `data.result.3`. A matched
 * value is not looked into further; the document itself (path "") is never matched.
 */

const ITEM_LIMIT = 256 * 1024 * 1024;

interface Frame {
  array: boolean;
  /** an object's current key, or an array's current index */
  key: string;
  index: number;
  /** what comes next in this container */
  expect: 'key' | 'colon' | 'value' | 'after';
  /** nothing in it yet: a closing bracket may come instead of a key or value */
  fresh: boolean;
}

interface Capture {
  kind: 'container' | 'string' | 'primitive';
  depth: number;
  inString: boolean;
  escape: boolean;
  parts: string[];
  size: number;
  path: string;
  at: number;
}

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
const isDelimiter = (c: number): boolean => c === 44 || c === 93 || c === 125 || isSpace(c);
const show = (c: number): string => JSON.stringify(String.fromCharCode(c));

export class JsonItemScanner {
  private readonly stack: Frame[] = [];
  private capture: Capture | null = null;
  /** text not yet consumed outside items (a key or a primitive cut by the end of a piece) */
  private tail = '';
  /** characters before `tail` */
  private offset = 0;
  private started = false;
  private items: unknown[] = [];

  /** `parse` turns an item's text into its value (JSON.parse, or one that reads a known shape faster). */
  constructor(private readonly filter: RegExp, private readonly itemLimit = ITEM_LIMIT, private readonly parse: (text: string) => unknown = JSON.parse) {}

  /** Feeds the next piece of text; returns the items it completed. */
  push(text: string): unknown[] {
    this.items = [];
    let from = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) from = 1;
    }
    if (this.capture) {
      const end = this.continueCapture(text, from);
      if (end < 0) {
        this.keep(text.slice(from));
        this.offset += text.length - from;
        return this.items;
      }
      this.keep(text.slice(from, end));
      this.offset += end - from;
      this.finishCapture();
      from = end;
    }
    this.scan(this.tail + text.slice(from), false);
    return this.items;
  }

  /** The input is over: completes a last bare value, or says what is unfinished. */
  end(): unknown[] {
    this.items = [];
    if (this.capture?.kind === 'primitive') this.finishCapture();
    else this.scan(this.tail, true);
    if (this.capture) throw new Error(`the JSON ends inside ${this.capture.path} (which starts at character ${this.capture.at + 1})`);
    if (this.stack.length > 0) throw new Error(`the JSON ends before its document is complete (inside ${this.path() || 'the top level'})`);
    return this.items;
  }

  private path(): string {
    let out = '';
    for (let i = 0; i < this.stack.length; i++) {
      const f = this.stack[i]!;
      out += (i > 0 ? '.' : '') + (f.array ? String(f.index) : f.key);
    }
    return out;
  }

  private fail(at: number, message: string): never {
    throw new Error(`${message} at character ${this.offset + at + 1}${this.stack.length > 0 ? ` (inside ${this.path()})` : ''}`);
  }

  private keep(part: string): void {
    const c = this.capture!;
    c.parts.push(part);
    c.size += part.length;
    if (c.size > this.itemLimit) {
      const limit = this.itemLimit >= 1024 * 1024 ? `${Math.round(this.itemLimit / 1024 / 1024)} MB` : `${this.itemLimit} characters`;
      throw new Error(`${c.path} is larger than ${limit} of text; split the export into smaller files`);
    }
  }

  /** Scans on in a captured item; the index just after its end, or -1 if it goes on past `text`. */
  private continueCapture(text: string, from: number): number {
    const c = this.capture!;
    const n = text.length;
    if (c.kind === 'primitive') {
      for (let k = from; k < n; k++) if (isDelimiter(text.charCodeAt(k))) return k;
      return -1;
    }
    let { depth, inString, escape } = c;
    for (let k = from; k < n; k++) {
      const ch = text.charCodeAt(k);
      if (inString) {
        if (escape) escape = false;
        else if (ch === 92) escape = true;
        else if (ch === 34) {
          inString = false;
          if (c.kind === 'string') return k + 1;
        }
      } else if (ch === 34) inString = true;
      else if (ch === 123 || ch === 91) depth++;
      else if (ch === 125 || ch === 93) {
        if (--depth === 0) return k + 1;
      }
    }
    c.depth = depth;
    c.inString = inString;
    c.escape = escape;
    return -1;
  }

  private finishCapture(): void {
    const c = this.capture!;
    this.capture = null;
    const text = c.parts.length === 1 ? c.parts[0]! : c.parts.join('');
    try {
      this.items.push(this.parse(text));
    } catch (err) {
      throw new Error(`${c.path} (from character ${c.at + 1}) is not valid JSON: ${(err as Error).message}`);
    }
    this.valueDone();
  }

  /** A value ended in the innermost container (or a document ended). */
  private valueDone(): void {
    const top = this.stack[this.stack.length - 1];
    if (top) {
      top.expect = 'after';
      top.fresh = false;
    }
  }

  /** Reads the structure outside items; what cannot be finished yet stays in `tail`. */
  private scan(buf: string, final: boolean): void {
    const n = buf.length;
    let pos = 0;
    const stop = (): void => {
      this.tail = buf.slice(pos);
      this.offset += pos;
    };
    while (pos < n) {
      const ch = buf.charCodeAt(pos);
      if (isSpace(ch)) {
        pos++;
        continue;
      }
      const top = this.stack[this.stack.length - 1];
      const expect = top ? top.expect : 'value';
      if (expect === 'key') {
        if (ch === 125 && top!.fresh) {
          pos++;
          this.close(false, pos - 1);
          continue;
        }
        if (ch !== 34) this.fail(pos, `expected a key in quotes, found ${show(ch)}`);
        const end = stringEnd(buf, pos + 1);
        if (end < 0) {
          if (final) this.fail(pos, 'the JSON ends inside a key');
          return stop();
        }
        top!.key = JSON.parse(buf.slice(pos, end)) as string;
        top!.expect = 'colon';
        pos = end;
        continue;
      }
      if (expect === 'colon') {
        if (ch !== 58) this.fail(pos, `expected ":" after the key "${top!.key}", found ${show(ch)}`);
        top!.expect = 'value';
        pos++;
        continue;
      }
      if (expect === 'after') {
        if (ch === 44) {
          if (top!.array) {
            top!.index++;
            top!.expect = 'value';
          } else top!.expect = 'key';
          pos++;
          continue;
        }
        if (ch === (top!.array ? 93 : 125)) {
          pos++;
          this.close(top!.array, pos - 1);
          continue;
        }
        this.fail(pos, `expected "," or "${top!.array ? ']' : '}'}", found ${show(ch)}`);
      }
      // A value begins.
      if (top?.array && top.fresh && ch === 93) {
        pos++;
        this.close(true, pos - 1);
        continue;
      }
      if (ch === 44 || ch === 58 || ch === 93 || ch === 125) this.fail(pos, `unexpected ${show(ch)}`);
      const path = this.path();
      if (path !== '' && this.filter.test(path)) {
        const kind = ch === 123 || ch === 91 ? 'container' : ch === 34 ? 'string' : 'primitive';
        this.capture = { kind, depth: kind === 'container' ? 1 : 0, inString: kind === 'string', escape: false, parts: [], size: 0, path, at: this.offset + pos };
        const end = this.continueCapture(buf, kind === 'primitive' ? pos : pos + 1);
        if (end < 0) {
          this.keep(buf.slice(pos));
          this.offset += n;
          this.tail = '';
          return;
        }
        this.keep(buf.slice(pos, end));
        this.finishCapture();
        pos = end;
        continue;
      }
      if (ch === 123 || ch === 91) {
        this.stack.push({ array: ch === 91, key: '', index: 0, expect: ch === 91 ? 'value' : 'key', fresh: true });
        pos++;
        continue;
      }
      // A string, number, true, false or null that is not an item: checked, then passed over.
      const end = ch === 34 ? stringEnd(buf, pos + 1) : primitiveEnd(buf, pos);
      if (end === pos) this.fail(pos, `unexpected ${show(ch)}`);
      if (end < 0 || (end === n && ch !== 34 && !final)) {
        if (final) this.fail(pos, 'the JSON ends inside a value');
        return stop();
      }
      try {
        JSON.parse(buf.slice(pos, end));
      } catch {
        this.fail(pos, `${JSON.stringify(buf.slice(pos, Math.min(end, pos + 20)))} is not a JSON value`);
      }
      pos = end;
      this.valueDone();
    }
    stop();
  }

  private close(array: boolean, at: number): void {
    const top = this.stack.pop()!;
    if (top.array !== array) this.fail(at, `"${array ? ']' : '}'}" closes ${top.array ? 'an array' : 'an object'}`);
    this.valueDone();
  }
}

/** Index just after the closing quote of a string whose contents start at `from`; -1 if not in `s`. */
export function stringEnd(s: string, from: number): number {
  for (let k = from; k < s.length; k++) {
    const ch = s.charCodeAt(k);
    if (ch === 92) k++;
    else if (ch === 34) return k + 1;
  }
  return -1;
}

function primitiveEnd(s: string, from: number): number {
  let k = from;
  while (k < s.length && !isDelimiter(s.charCodeAt(k))) k++;
  return k;
}
