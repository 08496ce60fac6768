import type { EngineEvent, Result } from '../../../shared/contract/result.js';
import type { Transport } from './client.js';

/** What the preload exposes (see electron/preload/preload.ts). */
export interface DesktopBridge {
  call(method: string, input: unknown): Promise<Result<unknown>>;
  onEvent(listener: (event: EngineEvent) => void): () => void;
  /** Shows the open dialog in the main process and starts the import there: paths never pass through the page. */
  importWithDialog(options: unknown): Promise<Result<{ jobId: string } | null>>;
}

declare global {
  interface Window {
    shadowbench?: DesktopBridge;
  }
}

export function ipcTransport(bridge: DesktopBridge): Transport {
  return {
    kind: 'ipc',
    call: (method, input) => bridge.call(method, input),
    subscribe: (listener) => bridge.onEvent(listener),
  };
}
