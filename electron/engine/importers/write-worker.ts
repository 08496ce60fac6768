// Worker-thread entry: the write side of one import (write-side.ts), driven by write-thread.ts.
// Batches are written in the order they arrive; each is acknowledged with what it added.
import { parentPort } from 'node:worker_threads';
import { openWriteSide, type WriteSide } from './write-side.js';
import type { FromWriter, ToWriter } from './write-thread.js';
import { writerLoop } from '../writer-loop.js';

const port = parentPort!;
const post = (message: FromWriter): void => port.postMessage(message);
let side: WriteSide | null = null;
let cancel: Int32Array | null = null;

const check = (): void => {
  if (cancel && Atomics.load(cancel, 0) !== 0) throw new Error('cancelled');
};

writerLoop<ToWriter>(port, {
  handle(message) {
    switch (message.type) {
      case 'open':
        cancel = new Int32Array(message.cancel);
        side = openWriteSide(message.init);
        return;
      case 'rows':
        check();
        post({ type: 'written', counts: side!.rows(message.rows) });
        return;
      case 'points':
        check();
        post({ type: 'written', counts: side!.points(message.batch) });
        return;
      case 'finish':
        post({ type: 'finished', result: side!.finish(message.request, (text) => post({ type: 'progress', message: text }), check) });
        return;
    }
  },
  // After a failure the transaction is gone: it is rolled back here.
  release() {
    side?.close();
    side = null;
  },
  failure: (err) => ({ type: 'failed', message: err instanceof Error ? err.message : String(err), code: (err as { code?: string }).code ?? null }),
});
