import { contextBridge, ipcRenderer } from 'electron';
import { PUBLIC_METHOD_NAMES } from '../../shared/contract/methods.js';
import type { EngineEvent } from '../../shared/contract/result.js';
import { CHANNELS } from '../main/ipc.js';

/**
 * The page's only door to the engine: one frozen object with a function per public contract
 * method, an event subscription, and the dialog-driven import. No ipcRenderer, no Node.
 */
export function buildBridge(ipc: Pick<typeof ipcRenderer, 'invoke' | 'on' | 'removeListener'>) {
  const methods = Object.freeze(Object.fromEntries(PUBLIC_METHOD_NAMES.map((name) => [name, (input: unknown) => ipc.invoke(CHANNELS.call, name, input)])));
  return Object.freeze({
    methods,
    call: (method: string, input: unknown) => {
      const fn = (methods as Record<string, ((input: unknown) => Promise<unknown>) | undefined>)[method];
      return fn ? fn(input) : Promise.resolve({ ok: false, error: { code: 'unknown_method', message: `Unknown method "${String(method).slice(0, 100)}"` } });
    },
    onEvent: (listener: (event: EngineEvent) => void) => {
      const handler = (_e: unknown, event: EngineEvent): void => listener(event);
      ipc.on(CHANNELS.event, handler);
      return () => {
        ipc.removeListener(CHANNELS.event, handler);
      };
    },
    importWithDialog: (options: unknown) => ipc.invoke(CHANNELS.importWithDialog, options),
  });
}

contextBridge.exposeInMainWorld('shadowbench', buildBridge(ipcRenderer));
