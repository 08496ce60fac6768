import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A worker thread's script, for `new Worker(code, { eval })`: the bundled `NAME.cjs` beside the
 * Electron engine host, else the TypeScript source `NAME.ts` beside the caller, run through tsx
 * (CLI, serve mode, tests). Null when neither is there.
 */
export function workerEntry(callerUrl: string, name: string): { code: string; eval: boolean } | null {
  // In the bundle every module's import.meta.url is the engine host's, so "beside the caller" is dist/electron.
  const here = path.dirname(fileURLToPath(callerUrl));
  const bundled = path.join(here, `${name}.cjs`);
  if (fs.existsSync(bundled)) return { code: bundled, eval: false };
  const source = path.join(here, `${name}.ts`);
  if (!fs.existsSync(source)) return null;
  // The parent may run under a loader the thread does not inherit (vitest, tsx's CLI), so the
  // thread registers tsx itself before importing the TypeScript entry.
  // (The ESM build of tsx's API, which sits beside the CommonJS one that require.resolve finds.)
  const tsx = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  const code = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(source).href)}); });`;
  return { code, eval: true };
}
