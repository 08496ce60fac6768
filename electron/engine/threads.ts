import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A worker thread's script, for `new Worker(code, { eval })`: the bundled `NAME.cjs` beside the
 * Electron engine host, else the TypeScript source `NAME.ts` beside the caller, bundled here into
 * one CommonJS script by esbuild (CLI, serve mode, tests), else that source run through tsx. Null
 * when neither file is there.
 */
export function workerEntry(callerUrl: string, name: string): { code: string; eval: boolean } | null {
  const where = locate(callerUrl, name);
  if (where === null || 'bundled' in where) return where === null ? null : { code: where.bundled, eval: false };
  const { source } = where;
  const code = bundleSource(source);
  if (code !== null) return { code, eval: true };
  // The parent may run under a loader the thread does not inherit (vitest, tsx's CLI), so the
  // thread registers tsx itself before importing the TypeScript entry.
  // (The ESM build of tsx's API, which sits beside the CommonJS one that require.resolve finds.)
  const tsx = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  return { code: `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(source).href)}); });`, eval: true };
}

function locate(callerUrl: string, name: string): { bundled: string } | { source: string } | null {
  // In the bundle every module's import.meta.url is the engine host's, so "beside the caller" is dist/electron.
  const here = path.dirname(fileURLToPath(callerUrl));
  const bundled = path.join(here, `${name}.cjs`);
  if (fs.existsSync(bundled)) return { bundled };
  const source = path.join(here, `${name}.ts`);
  return fs.existsSync(source) ? { source } : null;
}

const bundles = new Map<string, string | null>();
const warming = new Map<string, Promise<void>>();

/**
 * Bundles a thread's source in the background (esbuild works in its own process), so the first
 * run or import of a session does not wait ~90 ms for it on this thread. Called when a workspace
 * opens; workerEntry bundles synchronously if it is asked before this has finished. Never rejects.
 */
export function warmWorkerEntry(callerUrl: string, name: string): Promise<void> {
  const where = locate(callerUrl, name);
  if (where === null || 'bundled' in where || bundles.has(where.source)) return Promise.resolve();
  const { source } = where;
  const pending = warming.get(source);
  if (pending) return pending;
  const done = (async () => {
    try {
      const cached = readCached(source);
      if (cached !== null) {
        if (!bundles.has(source)) bundles.set(source, cached);
        return;
      }
      const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
      const out = await esbuild.build({ ...buildOptions(source), write: false, metafile: true });
      const code = wrapBundle(source, out.outputFiles[0]!.text);
      writeCached(source, code, out.metafile, esbuild.version);
      if (!bundles.has(source)) bundles.set(source, code);
    } catch {
      // workerEntry tries again, synchronously, and falls back to tsx if that fails too.
    } finally {
      warming.delete(source);
    }
  })();
  warming.set(source, done);
  return done;
}

function buildOptions(source: string): import('esbuild').BuildOptions {
  return {
    entryPoints: [source], absWorkingDir: path.dirname(source), bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent',
    external: ['electron', 'better-sqlite3', 'onnxruntime-node'],
    // As in the Electron bundle (scripts/build-electron.js): import.meta.url is the entry's.
    define: { 'import.meta.url': '__bundle_url' },
  };
}

// An eval'd script resolves `require` from the working directory: resolve from the source instead.
const wrapBundle = (source: string, script: string): string =>
  `(function (require) { const __bundle_url = ${JSON.stringify(pathToFileURL(source).href)};\n${script}\n})(require('node:module').createRequire(${JSON.stringify(source)}));`;

/**
 * A thread that registers tsx spends ~0.3 s of CPU on it before its first line, which on two cores
 * is taken from the work it was started to overlap with. Bundled (esbuild is what tsx transforms
 * with), the same thread starts in ~60 ms. Built once per process and entry, or read from the disk
 * cache a process before built (readCached); null if esbuild fails,
 * and the thread is started through tsx instead.
 */
function bundleSource(source: string): string | null {
  if (bundles.has(source)) return bundles.get(source)!;
  let code: string | null = readCached(source);
  if (code === null) {
    try {
      const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
      const out = esbuild.buildSync({ ...buildOptions(source), write: false, metafile: true });
      code = wrapBundle(source, out.outputFiles[0]!.text);
      writeCached(source, code, out.metafile, esbuild.version);
    } catch {
      code = null;
    }
  }
  bundles.set(source, code);
  return code;
}

/**
 * Bundles kept on disk between processes, in node_modules/.cache beside the sources: every CLI
 * command that starts a thread otherwise bundles it again (~50 ms of esbuild plus ~60 ms starting
 * its service process, on the thread that is about to read or score). A bundle is used only while
 * every file it was built from still has the content it had (hashes, not times: a checkout can
 * change a file within the same second) and esbuild is the same version. Anything wrong with the
 * cache (unwritable, damaged, stale) means building as before, never a failed thread.
 */
interface CachedBundle { version: number; esbuild: string; source: string; inputs: Record<string, string>; code: string }

const CACHE_VERSION = 1;

function cacheFile(source: string): string | null {
  for (let dir = path.dirname(source); ; ) {
    if (fs.existsSync(path.join(dir, 'node_modules'))) {
      const name = `${path.basename(source, '.ts')}-${crypto.createHash('sha256').update(source).digest('hex').slice(0, 12)}.json`;
      return path.join(dir, 'node_modules', '.cache', 'shadowbench-threads', name);
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

const contentHash = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function readCached(source: string): string | null {
  try {
    const file = cacheFile(source);
    if (file === null || !fs.existsSync(file)) return null;
    const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as CachedBundle;
    const esbuild = createRequire(import.meta.url)('esbuild/package.json') as { version: string };
    if (cached.version !== CACHE_VERSION || cached.source !== source || cached.esbuild !== esbuild.version || typeof cached.code !== 'string') return null;
    for (const [input, hash] of Object.entries(cached.inputs)) if (contentHash(input) !== hash) return null;
    return cached.code;
  } catch {
    return null;
  }
}

function writeCached(source: string, code: string, metafile: import('esbuild').Metafile | undefined, esbuildVersion: string): void {
  try {
    const file = cacheFile(source);
    if (file === null || !metafile) return;
    const inputs: Record<string, string> = {};
    for (const input of Object.keys(metafile.inputs)) {
      const at = path.resolve(path.dirname(source), input);
      inputs[at] = contentHash(at);
    }
    const entry: CachedBundle = { version: CACHE_VERSION, esbuild: esbuildVersion, source, inputs, code };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Written aside and renamed: two processes bundling at once never leave half a file.
    const aside = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(aside, JSON.stringify(entry));
    fs.renameSync(aside, file);
  } catch {
    // A read-only install: the next process bundles again.
  }
}

/**
 * Waiting on a worker's acknowledgements: `wait()` resolves at the next `wakeAll()`, for every
 * waiter (a caller may have several things waiting at once; one slot would leave the others asleep
 * for good). Waiters look at their condition again when woken.
 */
export function waitList(): { wait(): Promise<void>; wakeAll(): void } {
  let waiting: Array<() => void> = [];
  return {
    wait: () => new Promise<void>((resolve) => waiting.push(resolve)),
    wakeAll() {
      const resume = waiting;
      waiting = [];
      for (const r of resume) r();
    },
  };
}
