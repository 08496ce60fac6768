import type { ErrorCode } from '../../shared/contract/index.js';

/** An expected failure with a code the user can act on; anything else thrown is a bug ('internal'). */
export class EngineFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'EngineFailure';
  }
}
