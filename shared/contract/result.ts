/** What every engine call returns, whichever host carried it. */
export const ERROR_CODES = [
  'bad_request', // input failed validation
  'unknown_method',
  'forbidden', // privileged method from an unprivileged host
  'no_workspace',
  'not_found',
  'not_a_workspace',
  'workspace_too_new',
  'workspace_corrupt',
  'input_error', // a file or value the user gave is wrong
  'conflict',
  'internal', // a bug: the output failed its own schema, or something threw unexpectedly
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface EngineError {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: EngineError };

export type EngineEvent = { type: 'job'; job: import('./records.js').JobStatus };
