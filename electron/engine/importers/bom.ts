import { Transform, type TransformCallback } from 'node:stream';

/**
 * Drops a UTF-8 byte order mark from the start of a stream. Excel's "CSV UTF-8", Grafana's CSV
 * download and ServiceNow write one; left in, it sits in front of the first header cell, so a
 * quoted `"Time"` is no longer read as quoted and the column is named `"Time"` with its quotes.
 */
export function stripBom(): Transform {
  let head: Buffer | null = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (head === null) return done(null, chunk);
      // The mark's three bytes may arrive split across chunks.
      head = Buffer.concat([head, chunk]);
      if (head.length < 3 && Buffer.from([0xef, 0xbb, 0xbf]).subarray(0, head.length).equals(head)) return done();
      const out = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? head.subarray(3) : head;
      head = null;
      done(null, out);
    },
    flush(done: TransformCallback) {
      // A file of one or two bytes that begin like the mark: passed on as they are.
      if (head !== null && head.length > 0) this.push(head);
      done();
    },
  });
}
