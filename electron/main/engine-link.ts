import type { UtilityProcess } from 'electron';
import type { EngineEvent, Result } from '../../shared/contract/result.js';
import type { EngineLink } from './ipc.js';

/** Request/response over the utility process's message port, matched by id. */
export function linkToEngine(child: UtilityProcess, onEvent: (event: EngineEvent) => void): EngineLink {
  let next = 1;
  const pending = new Map<number, (result: Result<unknown>) => void>();
  child.on('message', (message: { id?: number; result?: Result<unknown>; event?: EngineEvent }) => {
    if (message.event) onEvent(message.event);
    else if (message.id !== undefined && message.result) {
      pending.get(message.id)?.(message.result);
      pending.delete(message.id);
    }
  });
  child.on('exit', (code) => {
    for (const resolve of pending.values()) resolve({ ok: false, error: { code: 'internal', message: `The engine stopped (exit code ${code})` } });
    pending.clear();
  });
  return {
    call(method, input, privileged) {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.postMessage({ id, method, input, privileged });
      });
    },
  };
}
