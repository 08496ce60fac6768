import Database from 'better-sqlite3';
import fs from 'node:fs';
import { EngineFailure } from '../errors.js';
import { LATEST_VERSION, migrations } from './migrations/index.js';

export type Db = Database.Database;

/** Written into `meta` by the first migration's caller, so a stranger's SQLite file is recognisable. */
export const WORKSPACE_MARK = 'shadowbench-workspace';
// SQLite's header field `application_id`; 0x53425731 = "SBW1".
const APPLICATION_ID = 0x53425731;

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
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: !options.create, ...(nativeBinding ? { nativeBinding } : {}) });
  } catch (err) {
    throw new EngineFailure('not_a_workspace', `${path} could not be opened as a workspace: ${(err as Error).message}`);
  }
  try {
    checkAndMigrate(db, path, exists && fs.statSync(path).size > 0, options);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function checkAndMigrate(db: Db, path: string, existing: boolean, options: OpenOptions = {}): void {
  let version: number;
  try {
    // Reading the header is the first thing that fails on a file that is not SQLite at all.
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
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
    const integrity = options.skipIntegrityCheck ? 'ok' : (db.pragma('integrity_check', { simple: true }) as string);
    if (integrity !== 'ok') throw new EngineFailure('workspace_corrupt', `${path} failed SQLite's integrity check: ${integrity}`);
  }
  if (!db.readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the last commit.
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
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
