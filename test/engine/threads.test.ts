import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { waitList, warmWorkerEntry, workerEntry } from '../../electron/engine/threads.js';
import { REPO, tempDir } from '../helpers/workspace.js';

/**
 * Worker threads run from source (CLI, serve mode, tests) are bundled by esbuild at first use,
 * so a thread does not spend ~0.3 s of CPU registering tsx before its first line.
 */

const caller = (dir: string): string => pathToFileURL(path.join(dir, 'caller.ts')).href;

function ready(entry: { code: string; eval: boolean }): Promise<unknown> {
  const worker = new Worker(entry.code, { eval: entry.eval });
  return new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.on('error', reject);
  });
}

describe('worker thread entries', () => {
  it('bundle the TypeScript worker into one script that starts without tsx', async () => {
    const entry = workerEntry(caller(path.join(REPO, 'electron/engine/runs')), 'suggestion-worker')!;
    expect(entry.eval).toBe(true);
    expect(entry.code).not.toMatch(/tsx/);
    expect(entry.code).toMatch(/^\(function \(require\)/);
    expect(await ready(entry)).toEqual({ type: 'ready' });
    // Built once per process: the second call hands back the same script.
    expect(workerEntry(caller(path.join(REPO, 'electron/engine/runs')), 'suggestion-worker')!.code).toBe(entry.code);
  });

  it('resolve the bundle\'s packages from the source, not from the working directory', () => {
    // A process started elsewhere (as the CLI can be) loads better-sqlite3 in the thread.
    const elsewhere = tempDir('sbw-cwd-');
    const script = path.join(elsewhere, 'start.mjs');
    fs.writeFileSync(script, `
      import { Worker } from 'node:worker_threads';
      const { workerEntry } = await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'electron/engine/threads.ts')).href)});
      const entry = workerEntry(${JSON.stringify(caller(path.join(REPO, 'electron/engine/runs')))}, 'suggestion-worker');
      const worker = new Worker(entry.code, { eval: entry.eval });
      worker.on('message', (m) => { console.log(JSON.stringify(m)); worker.postMessage({ type: 'close' }); worker.on('message', () => worker.terminate()); });
      worker.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
    `);
    const tsx = import.meta.resolve('tsx');
    const r = spawnSync(process.execPath, ['--import', tsx, script], { cwd: elsewhere, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim().split('\n')[0]).toBe('{"type":"ready"}');
    expect(r.status).toBe(0);
  });

  it('fall back to starting the source through tsx when it cannot be bundled', async () => {
    const dir = tempDir('sbw-worker-');
    // esbuild refuses an import it cannot resolve; tsx would report it when the thread runs.
    fs.writeFileSync(path.join(dir, 'broken-worker.ts'), 'import { nothing } from "./missing-module.js";\nnothing();\n');
    const broken = workerEntry(caller(dir), 'broken-worker')!;
    expect(broken.code).toMatch(/tsx/);
    expect(broken.code).toContain(pathToFileURL(path.join(dir, 'broken-worker.ts')).href);
    expect(workerEntry(caller(dir), 'absent-worker')).toBeNull();
  });

  it('bundle in the background when asked ahead, and use that bundle when the thread starts', async () => {
    const dir = tempDir('sbw-worker-');
    const source = path.join(dir, 'tiny-worker.ts');
    fs.writeFileSync(path.join(dir, 'answer.ts'), 'export const answer: number = 42;\n');
    fs.writeFileSync(source, "import { parentPort } from 'node:worker_threads';\nimport { answer } from './answer.js';\nparentPort!.postMessage({ type: 'ready', answer });\n");
    const warming = warmWorkerEntry(caller(dir), 'tiny-worker');
    expect(warmWorkerEntry(caller(dir), 'tiny-worker')).toBe(warming); // one build, however often asked
    await warming;
    // What the thread runs is the bundle made ahead: a change to the source after it is not seen.
    fs.writeFileSync(path.join(dir, 'answer.ts'), 'export const answer: number = 43;\n');
    const entry = workerEntry(caller(dir), 'tiny-worker')!;
    expect(entry.code).not.toMatch(/tsx/);
    expect(await ready(entry)).toEqual({ type: 'ready', answer: 42 });
    // A source that cannot be bundled: warming says nothing, and the thread still starts through tsx.
    fs.writeFileSync(path.join(dir, 'broken-worker.ts'), 'import { nothing } from "./missing-module.js";\nnothing();\n');
    await expect(warmWorkerEntry(caller(dir), 'broken-worker')).resolves.toBeUndefined();
    expect(workerEntry(caller(dir), 'broken-worker')!.code).toMatch(/tsx/);
    await expect(warmWorkerEntry(caller(dir), 'absent-worker')).resolves.toBeUndefined();
  });

  it('keep a bundle on disk for the next process, and build again when a file it came from changes', () => {
    const dir = tempDir('sbw-worker-cache-');
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'answer.ts'), 'export const answer: number = 42;\n');
    fs.writeFileSync(path.join(dir, 'tiny-worker.ts'), "import { parentPort } from 'node:worker_threads';\nimport { answer } from './answer.js';\nparentPort!.postMessage(answer);\n");
    const script = path.join(dir, 'start.mjs');
    fs.writeFileSync(script, `
      import { Worker } from 'node:worker_threads';
      const { workerEntry } = await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'electron/engine/threads.ts')).href)});
      const entry = workerEntry(${JSON.stringify(caller(dir))}, 'tiny-worker');
      const worker = new Worker(entry.code, { eval: entry.eval });
      worker.on('message', (m) => { console.log(JSON.stringify({ answer: m, tsx: /tsx/.test(entry.code) })); void worker.terminate(); });
      worker.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
    `);
    const tsx = import.meta.resolve('tsx');
    const run = (): unknown => JSON.parse(spawnSync(process.execPath, ['--import', tsx, script], { cwd: dir, encoding: 'utf8', timeout: 60_000 }).stdout.trim());
    const cacheDir = path.join(dir, 'node_modules', '.cache', 'shadowbench-threads');
    expect(run()).toEqual({ answer: 42, tsx: false });
    const [file] = fs.readdirSync(cacheDir);
    expect(file).toMatch(/^tiny-worker-[0-9a-f]{12}\.json$/);
    const cached = JSON.parse(fs.readFileSync(path.join(cacheDir, file!), 'utf8')) as { inputs: Record<string, string>; code: string };
    expect(Object.keys(cached.inputs).map((f) => path.basename(f)).sort()).toEqual(['answer.ts', 'tiny-worker.ts']);
    // The next process runs what is on disk: a bundle changed there (and only there) is what answers.
    fs.writeFileSync(path.join(cacheDir, file!), JSON.stringify({ ...cached, code: cached.code.replace('42', '41') }));
    expect(run()).toEqual({ answer: 41, tsx: false });
    // A source it was built from changed: built again, and the new bundle kept.
    fs.writeFileSync(path.join(dir, 'answer.ts'), 'export const answer: number = 43;\n');
    expect(run()).toEqual({ answer: 43, tsx: false });
    expect(fs.readFileSync(path.join(cacheDir, file!), 'utf8')).toContain('43');
    // A damaged cache file is built past, not a failed thread.
    fs.writeFileSync(path.join(cacheDir, file!), '{"version":1,"code":');
    expect(run()).toEqual({ answer: 43, tsx: false });
    expect(fs.readdirSync(cacheDir)).toEqual([file]); // nothing left aside
  });

  it('wake every waiter at once, and only those waiting at the time', async () => {
    const acks = waitList();
    const woken: number[] = [];
    const three = [1, 2, 3].map((k) => acks.wait().then(() => woken.push(k)));
    acks.wakeAll();
    await Promise.all(three);
    expect(woken).toEqual([1, 2, 3]);
    // A later waiter waits for the next wake.
    let late = false;
    const next = acks.wait().then(() => (late = true));
    await new Promise((r) => setImmediate(r));
    expect(late).toBe(false);
    acks.wakeAll();
    await next;
    expect(late).toBe(true);
  });
});
