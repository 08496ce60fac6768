import { Transform, type TransformCallback } from 'node:stream';

/**
 * Stops a line-based file (CSV, NDJSON) at a line longer than `maxBytes`. A parser holds a line
 * whole until its end: a 300 MB line once took 2.7 GB and minutes before the per-field limit
 * could refuse it. The error locates the line by its starting byte and first characters; counting
 * line numbers here would cost every import a scan of every byte for a file almost no one has.
 */
export function lineLimit(maxBytes: number): Transform {
  let offset = 0; // bytes passed through before the current chunk
  let lineStart = 0; // where the current line began
  let head: Buffer | null = null; // the current line's first bytes, for the message
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      // The line under way ends in this chunk: its bytes here count too.
      const first = chunk.indexOf(0x0a);
      if (first >= 0 && offset + first - lineStart > maxBytes) return done(tooLong());
      const last = chunk.lastIndexOf(0x0a);
      if (last >= 0) {
        lineStart = offset + last + 1;
        head = chunk.subarray(last + 1, last + 81);
      } else if (head === null || head.length < 80) {
        head = Buffer.concat([head ?? Buffer.alloc(0), chunk.subarray(0, 80)]).subarray(0, 80);
      }
      offset += chunk.length;
      if (offset - lineStart > maxBytes) return done(tooLong());
      done(null, chunk);
    },
  });

  function tooLong(): Error {
    const text = (head ?? Buffer.alloc(0)).toString('utf8').replace(/\uFFFD$/, '');
    return new Error(`the line that starts at byte ${lineStart.toLocaleString('en-US')} ("${text}…") runs past ${Math.round(maxBytes / 2 ** 20)} MiB without a line break; no row is that long: is this the right file (or a JSON document, which has its own formats)?`);
  }
}
