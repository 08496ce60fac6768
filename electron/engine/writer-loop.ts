import type { MessagePort } from 'node:worker_threads';

/**
 * A writer thread's message loop (importers/write-worker.ts, runs/suggestion-worker.ts). Messages
 * are handled in the order they arrive. Once one fails, the failure is reported once, the
 * connection is let go, and what was queued after it is dropped (the other side is failing and
 * cleans up); `close` is always answered with `closed`. Says `ready` when it is listening.
 */
export function writerLoop<M extends { type: string }>(port: MessagePort, loop: {
  handle(message: Exclude<M, { type: 'close' } | { type: 'ping' }>): void;
  /** lets go of the connection (rolling back what is open); on close and after a failure */
  release(): void;
  /** what to tell the other side about a failure */
  failure(err: unknown): { type: 'failed' };
}): void {
  let failed = false;
  port.on('message', (message: M) => {
    if (message.type === 'ping') {
      // A thread kept for another run, asked whether it is still there.
      port.postMessage({ type: 'ready' });
      return;
    }
    if (message.type === 'close') {
      try {
        loop.release();
      } finally {
        port.postMessage({ type: 'closed' });
      }
      // Closed, it starts clean: a thread kept after a run that went well serves the next one.
      failed = false;
      return;
    }
    if (failed) return;
    try {
      loop.handle(message as Exclude<M, { type: 'close' } | { type: 'ping' }>);
    } catch (err) {
      failed = true;
      try {
        loop.release();
      } catch {
        // the error that got us here is the one to report
      }
      port.postMessage(loop.failure(err));
    }
  });
  port.postMessage({ type: 'ready' });
}
