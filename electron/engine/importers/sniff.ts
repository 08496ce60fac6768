/**
 * What a file is, judged from its first bytes before any reader sees it: files that are not text
 * exports at all, and saved Prometheus responses that hold no series. Both are refused with what
 * the file is and what to do, instead of a parser's complaint about its "header".
 */

/** File signatures people do try to import, with what to do instead. */
const NOT_TEXT: Array<[Buffer, string, string?]> = [
  [Buffer.from('PK\x03\x04', 'latin1'), 'a ZIP archive', 'an Excel .xlsx workbook is one: save the sheet as CSV and import that'],
  [Buffer.from('\xd0\xcf\x11\xe0', 'latin1'), 'an old Office document', 'save the sheet as CSV and import that'],
  [Buffer.from('SQLite format 3\0', 'latin1'), 'an SQLite database', 'a workspace is opened from the Home page or with --workspace'],
  [Buffer.from('\x89PNG', 'latin1'), 'a PNG image'],
  [Buffer.from('%PDF', 'latin1'), 'a PDF document'],
];
/** UTF-16 byte order marks: Excel's "Unicode Text" export writes one. */
const UTF16: Buffer[] = [Buffer.from([0xff, 0xfe]), Buffer.from([0xfe, 0xff])];

/**
 * Why the first bytes (already un-gzipped) cannot be a text export, or null. Without this a binary
 * file reaches the CSV reader, and its "header" is quoted back as a screenful of garbage.
 */
export function binaryProblem(head: Buffer): string | null {
  for (const [magic, what, advice] of NOT_TEXT) {
    if (head.subarray(0, magic.length).equals(magic)) return `this is ${what}, not a text export (CSV, NDJSON or JSON)${advice ? `; ${advice}` : ''}`;
  }
  if (UTF16.some((bom) => head.subarray(0, 2).equals(bom))) return 'this is UTF-16 text (what Excel calls "Unicode Text"); save it as "CSV UTF-8" and import that';
  const sample = head.subarray(0, 4096);
  let control = 0;
  for (const b of sample) if (b === 0 || (b < 32 && b !== 9 && b !== 10 && b !== 13)) control++;
  // Text has no NUL and almost no control bytes (Latin-1 or UTF-8 alike; random bytes are ~11 % control).
  if (sample.includes(0) || control > sample.length / 100) {
    return 'this does not look like text (binary bytes at the start); Shadowbench imports CSV, NDJSON and JSON exports, gzipped or not';
  }
  return null;
}

/**
 * A saved Prometheus response that holds no series says so in its first bytes: an error response
 * (a failed query saved as is would otherwise import as "0 rows"), or a scalar or string result.
 * Only the top level is read (status is the first key Prometheus writes), never label values.
 */
export function prometheusHeadProblem(head: Buffer): string | null {
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  const quoted = (key: string): string | undefined => {
    const m = new RegExp(`"${key}"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(text);
    if (!m) return undefined;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1];
    }
  };
  if (/^\{\s*"status"\s*:\s*"error"/.test(text)) {
    const type = quoted('errorType');
    const error = quoted('error');
    return `this is a Prometheus error response${type ? ` (${type})` : ''}${error ? `: ${error}` : ''}; it holds no data — fix the query and save its answer again`;
  }
  const type = /^\{\s*(?:"status"\s*:\s*"success"\s*,\s*)?"data"\s*:\s*\{\s*"resultType"\s*:\s*"(\w+)"/.exec(text)?.[1];
  if (type === 'scalar' || type === 'string') return `this Prometheus response holds a ${type} result, which has no series or labels; save a range query (query_range) or an instant vector instead`;
  return null;
}
