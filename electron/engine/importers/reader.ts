import type { Readable } from 'node:stream';

/**
 * What every input format produces: rows of named raw values with the file line they came from,
 * or a located error. Formats added later (Prometheus, OTLP, …) implement the same interface, so
 * mapping, validation, PII scrubbing and writing are shared.
 *
 * Rows come in batches (whatever the parser has buffered) because one await per row costs more
 * than parsing the row.
 */
export type RawRow =
  | { line: number; values: Record<string, unknown>; error?: undefined; cells?: readonly string[] }
  | { line: number; error: string; values?: undefined; cells?: undefined };

export interface RecordReader {
  /** Columns (CSV header) or null for formats whose rows carry their own keys. */
  columns(): Promise<string[] | null>;
  batches(): AsyncIterable<RawRow[]>;
}

/** Drains an object-mode stream in batches: everything buffered at once, then wait for more. */
export async function* drain<T>(stream: Readable): AsyncIterable<T[]> {
  let failure: Error | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  stream.on('readable', notify);
  stream.on('end', () => {
    ended = true;
    notify();
  });
  stream.on('error', (err) => {
    failure = err;
    notify();
  });
  for (;;) {
    const batch: T[] = [];
    let item: T | null;
    while ((item = stream.read() as T | null) !== null) batch.push(item);
    if (batch.length > 0) yield batch;
    else {
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }
}
