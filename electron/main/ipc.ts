import type { Dialog, IpcMain, IpcMainInvokeEvent } from 'electron';
import { ImportOptions, isMethodName, methods } from '../../shared/contract/methods.js';
import type { Result } from '../../shared/contract/result.js';
import { isAppUrl } from './security.js';

export const CHANNELS = { call: 'engine:call', event: 'engine:event', importWithDialog: 'engine:import-with-dialog' } as const;

export interface EngineLink {
  call(method: string, input: unknown, privileged: boolean): Promise<Result<unknown>>;
}

/** Only our own page, in its top frame, may talk to the engine. */
export function trustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame !== undefined && frame.parent === null && isAppUrl(frame.url);
}

const refuse = (message: string): Result<never> => ({ ok: false, error: { code: 'forbidden', message } });

export function registerIpc(ipcMain: IpcMain, engine: EngineLink, dialog: Pick<Dialog, 'showOpenDialog'>): void {
  ipcMain.handle(CHANNELS.call, async (event, method: unknown, input: unknown) => {
    if (!trustedSender(event)) return refuse('IPC from an unexpected sender');
    if (!isMethodName(method)) return { ok: false, error: { code: 'unknown_method', message: `Unknown method "${String(method).slice(0, 100)}"` } };
    // Path-taking methods never come from the page: the page could be tricked into naming any file.
    if (methods[method].privileged) return refuse(`${method} is not available to the window`);
    return engine.call(method, input, false);
  });
  ipcMain.handle(CHANNELS.importWithDialog, async (event, options: unknown) => {
    if (!trustedSender(event)) return refuse('IPC from an unexpected sender');
    const parsed = ImportOptions.safeParse(options);
    if (!parsed.success) return { ok: false, error: { code: 'bad_request', message: parsed.error.message } };
    const picked = await dialog.showOpenDialog({ properties: ['openFile'], filters: [{ name: 'Data', extensions: ['csv', 'ndjson', 'jsonl', 'gz', 'txt'] }] });
    if (picked.canceled || picked.filePaths.length === 0) return { ok: true, value: null };
    // The path comes from the user's own dialog, so this is the one place a privileged call is made for the window.
    return engine.call('import.startPath', { ...parsed.data, path: picked.filePaths[0] }, true);
  });
}
