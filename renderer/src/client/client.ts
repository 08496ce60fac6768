import type { MethodInput, MethodName, MethodOutput } from '../../../shared/contract/methods.js';
import type { EngineError, EngineEvent, Result } from '../../../shared/contract/result.js';

/**
 * The renderer's one way to reach the engine. Two transports carry the same contract: the
 * preload's object in the desktop app, loopback HTTP in serve mode.
 */
export interface Transport {
  kind: 'ipc' | 'http';
  call(method: string, input: unknown): Promise<Result<unknown>>;
  subscribe(listener: (event: EngineEvent) => void): () => void;
  /** Serve mode: sends the file's bytes to the host and returns an upload id for `import.start`. */
  upload?(file: File, onProgress: (fraction: number) => void): Promise<{ uploadId: string; fileName: string }>;
}

export class EngineCallError extends Error {
  constructor(readonly error: EngineError) {
    super(error.message);
  }
}

/** What to tell the user about a failed call or anything else thrown (an EngineCallError's message is the engine's). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface Client {
  transport: Transport;
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  subscribe(listener: (event: EngineEvent) => void): () => void;
}

export function createClient(transport: Transport): Client {
  return {
    transport,
    async call(method, input) {
      const result = await transport.call(method, input);
      if (!result.ok) throw new EngineCallError(result.error);
      return result.value as never;
    },
    subscribe: (listener) => transport.subscribe(listener),
  };
}
