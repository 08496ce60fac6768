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

/**
 * A model could not be asked at all (its thread stopped): not an answer about the rows it was
 * given, so a run fails with it instead of recording it as every row's error.
 */
export class ModelUnavailable extends EngineFailure {
  constructor(message: string) {
    super('internal', message);
    this.name = 'ModelUnavailable';
  }
}

/**
 * SQLite's own failures that are not bugs but the machine's state: another writer, a full disk, a
 * read-only file. Said in words with the workspace's path, instead of "failed unexpectedly".
 */
export function storageFailure(err: unknown, file: string | null): EngineFailure | null {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  const where = file ?? 'the workspace';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new EngineFailure('conflict', `${where} is busy: another program is writing to it (an import in progress, or another Shadowbench window or command); try again when it finishes`);
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return new EngineFailure('input_error', `The disk holding ${where} is full: free some space and try again (nothing was half-written)`);
  if (code.startsWith('SQLITE_READONLY')) {
    return new EngineFailure('conflict', `${where} cannot be written: the file or its folder is read-only (SQLite keeps ${file ? `${file}-wal and ${file}-shm` : 'two files'} beside it while it is open)`);
  }
  return null;
}
