import Database from 'better-sqlite3';
import fs from 'node:fs';
import { EngineFailure } from '../errors.js';
import { LATEST_VERSION, migrations } from './migrations/index.js';

export type Db = Database.Database;

/** Written into `meta` by the first migration's caller, so a stranger's SQLite file is recognisable. */
export const WORKSPACE_MARK = 'shadowbench-workspace';
// SQLite's header field `application_id`; 0x53425731 = "SBW1".
const APPLICATION_ID = 0x53425731;
/** Page size of a workspace created now (see where it is set). */
export const PAGE_SIZE = 16384;

export interface OpenOptions {
  /** A second connection to a workspace the engine has already opened (and checked). */
  skipIntegrityCheck?: boolean;
  create?: boolean;
  readonly?: boolean;
  /** Electron's build of better-sqlite3 (the desktop host passes it; tests and the CLI use the Node build). */
  nativeBinding?: string;
}

export function openWorkspace(path: string, options: OpenOptions = {}): Db {
  const exists = fs.existsSync(path);
  if (!exists && !options.create) throw new EngineFailure('not_found', `No workspace at ${path}`);
  if (exists && options.create && fs.statSync(path).size > 0) {
    throw new EngineFailure('conflict', `${path} already exists; open it instead of creating it`);
  }
  if (exists && !options.create && fs.statSync(path).isFile() && fs.statSync(path).size === 0) {
    throw new EngineFailure('not_a_workspace', `${path} is an empty file, not a Shadowbench workspace`);
  }
  if (exists && fs.statSync(path).isDirectory()) throw new EngineFailure('not_a_workspace', `${path} is a folder, not a workspace file`);
  const nativeBinding = options.nativeBinding ?? process.env.SHADOWBENCH_SQLITE_BINDING;
  // A -wal beside the file is replayed into it, and a read-write close then checkpoints it into the
  // file for good. If it belongs to another copy (a backup restored over a crashed workspace, a file
  // copied over another), that would corrupt or silently mix two workspaces: check on a read-only
  // connection first (a read-only close never checkpoints) and refuse with the file untouched.
  const wal = `${path}-wal`;
  let checked = false;
  if (exists && !options.create && !options.readonly && !options.skipIntegrityCheck && fs.existsSync(wal) && fs.statSync(wal).size > 0) {
    const problem = probeWithLog(path, nativeBinding);
    if (problem !== null) {
      throw new EngineFailure('workspace_corrupt', `${path} does not agree with the write-ahead log beside it (${wal}): ${problem}. Nothing was changed. `
        + `If this file was restored from a backup or copied over another workspace, that log belongs to the other one: move ${wal} and ${path}-shm aside, then open it again.`);
    }
    checked = true;
  }
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: !options.create, ...(nativeBinding ? { nativeBinding } : {}) });
  } catch (err) {
    throw new EngineFailure('not_a_workspace', `${path} could not be opened as a workspace: ${(err as Error).message}`);
  }
  try {
    checkAndMigrate(db, path, exists && fs.statSync(path).size > 0, { ...options, ...(checked ? { checkedWithLog: true } : {}) });
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Integrity and foreign keys as the file plus its log read, on a connection that cannot write: the first problem, or null. */
function probeWithLog(path: string, nativeBinding: string | undefined): string | null {
  let probe: Db | null = null;
  try {
    probe = new Database(path, { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
    const integrity = probe.pragma('integrity_check', { simple: true }) as string;
    if (integrity !== 'ok') return integrity.split('\n')[0]!;
    const orphans = (probe.pragma('foreign_key_check') as unknown[]).length;
    return orphans > 0 ? `${orphans.toLocaleString('en-US')} rows refer to rows that do not exist` : null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    probe?.close();
  }
}

function checkAndMigrate(db: Db, path: string, existing: boolean, options: OpenOptions & { checkedWithLog?: boolean } = {}): void {
  let version: number;
  try {
    // Reading the header is the first thing that fails on a file that is not SQLite at all.
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) {
      throw new EngineFailure('conflict', `${path} cannot be opened for writing: the file or its folder is read-only, and SQLite keeps ${path}-wal and ${path}-shm beside it while it is open. Copy it to a folder you can write to, or make it writable.`);
    }
    if (code === 'SQLITE_CORRUPT') {
      throw new EngineFailure('workspace_corrupt', `${path} is damaged (${(err as Error).message}): restore it from a backup, or salvage what is left with \`sqlite3 ${path} .recover\``);
    }
    throw new EngineFailure('not_a_workspace', `${path} is not a Shadowbench workspace (not an SQLite database: ${(err as Error).message})`);
  }
  if (existing) {
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (appId !== APPLICATION_ID) {
      throw new EngineFailure('not_a_workspace', `${path} is an SQLite database but not a Shadowbench workspace`);
    }
    if (version > LATEST_VERSION) {
      throw new EngineFailure('workspace_too_new', `${path} was written by a newer Shadowbench (schema ${version}; this version understands up to ${LATEST_VERSION}). Upgrade Shadowbench to open it.`);
    }
    // A file closed cleanly (no log beside it) gets SQLite's quick check, which reads every page but
    // skips matching each index to its table: a full check took 5 s on a 190 MB workspace, on every
    // command. After a crash, or with a log beside it, the full check ran on the read-only probe above.
    const integrity = options.skipIntegrityCheck || options.checkedWithLog ? 'ok' : (db.pragma('quick_check', { simple: true }) as string);
    if (integrity !== 'ok') throw new EngineFailure('workspace_corrupt', `${path} failed SQLite's integrity check: ${integrity}`);
  }
  if (!db.readonly) {
    // A new file (no page written yet) takes 16 KiB pages, fixed from its first table on. Measured
    // against SQLite's default 4 KiB: telemetry imports write and commit fewer, fuller pages (long
    // CSV ~10 % faster end to end, the commit and its checkpoint half the time), timeline and replay
    // reads no slower (docs/performance.md, fourteenth sitting). Older workspaces keep theirs until compacted.
    if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the last commit.
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  // Waits out another writer's short transaction; not an import's, which holds the lock for the
  // whole file: waiting 5 s there froze the engine thread (and its progress events) for nothing.
  // A call that still finds the workspace locked is refused by name (errors.ts storageFailure).
  db.pragma('busy_timeout = 1000');
  if (!db.readonly) migrate(db, version);
}

function migrate(db: Db, from: number): void {
  for (const m of migrations) {
    if (m.version <= from) continue;
    db.transaction(() => {
      db.exec(m.sql);
      if (m.version === 1) {
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('format', WORKSPACE_MARK);
        db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('created_at', String(Date.now()));
      }
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

/**
 * Folds the write-ahead log back into the file and empties it, when nothing else is using it: after
 * a job, so the .sbw alone is the whole workspace while the app sits idle (and a 150 MB log from a
 * big import does not linger). Never waits: if another connection is busy, the next job tries again.
 */
export function settle(db: Db): void {
  if (db.readonly || !db.open) return;
  const previous = db.pragma('busy_timeout', { simple: true }) as number;
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // busy: another reader or writer; harmless
  } finally {
    db.pragma(`busy_timeout = ${previous}`);
  }
}
