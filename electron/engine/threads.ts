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
  // In the bundle every module's import.meta.url is the engine host's, so "beside the caller" is dist/electron.
  const here = path.dirname(fileURLToPath(callerUrl));
  const bundled = path.join(here, `${name}.cjs`);
  if (fs.existsSync(bundled)) return { code: bundled, eval: false };
  const source = path.join(here, `${name}.ts`);
  if (!fs.existsSync(source)) return null;
  const code = bundleSource(source);
  if (code !== null) return { code, eval: true };
  // The parent may run under a loader the thread does not inherit (vitest, tsx's CLI), so the
  // thread registers tsx itself before importing the TypeScript entry.
  // (The ESM build of tsx's API, which sits beside the CommonJS one that require.resolve finds.)
  const tsx = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  return { code: `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(source).href)}); });`, eval: true };
}

const bundles = new Map<string, string | null>();

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
    const out = esbuild.buildSync({
      entryPoints: [source], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent',
      external: ['electron', 'better-sqlite3', 'onnxruntime-node'],
      // As in the Electron bundle (scripts/build-electron.js): import.meta.url is the entry's.
      define: { 'import.meta.url': '__bundle_url' },
    });
    const script = out.outputFiles[0]!.text;
    // An eval'd script resolves `require` from the working directory: resolve from the source instead.
    code = `(function (require) { const __bundle_url = ${JSON.stringify(pathToFileURL(source).href)};\n${script}\n})(require('node:module').createRequire(${JSON.stringify(source)}));`;
  } catch {
    code = null;
  }
  bundles.set(source, code);
  return code;
}
