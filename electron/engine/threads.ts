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
      const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
      const out = await esbuild.build({ ...buildOptions(source), write: false });
      if (!bundles.has(source)) bundles.set(source, wrapBundle(source, out.outputFiles[0]!.text));
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
    entryPoints: [source], bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent',
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
 * with), the same thread starts in ~60 ms. Built once per process and entry; null if esbuild fails,
 * and the thread is started through tsx instead.
 */
function bundleSource(source: string): string | null {
  if (bundles.has(source)) return bundles.get(source)!;
  let code: string | null = null;
  try {
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const out = esbuild.buildSync({ ...buildOptions(source), write: false });
    code = wrapBundle(source, out.outputFiles[0]!.text);
  } catch {
    code = null;
  }
  bundles.set(source, code);
  return code;
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
