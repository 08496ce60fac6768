import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxOnThread } from '../../electron/engine/models/onnx-thread.js';
import { ModelManifest } from '../../shared/contract/models.js';
import { linearModel } from '../helpers/onnx-models.js';

/**
 * In Electron the engine's worker threads run from bundles built beside the engine host
 * (scripts/build-electron.js), not from source. Electron itself cannot start here, but its bundles
 * are plain Node: every thread the engine starts must have one, and a bundle must run.
 */

const root = path.resolve(import.meta.dirname, '../..');

function threadNames(dir: string): string[] {
  const names = new Set<string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/workerEntry\(import\.meta\.url, '([a-z-]+)'\)/g)) names.add(m[1]!);
  }
  return [...names].sort();
}

describe('the Electron build', () => {
  it('bundles every worker thread the engine starts, and a model thread runs from its bundle', async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build-electron.js')], { cwd: root, stdio: 'pipe' });
    const names = threadNames(path.join(root, 'electron'));
    expect(names).toEqual(['bootstrap-worker', 'onnx-worker', 'report-worker', 'suggestion-worker', 'write-worker']);
    for (const name of names) expect(fs.existsSync(path.join(root, 'dist/electron', `${name}.cjs`)), name).toBe(true);
    const manifest = ModelManifest.parse({ name: 'linear', input: 'features', features: ['a', 'b'], output: 'score' });
    const runner = onnxOnThread(manifest, linearModel([0.25, 0.5]), { code: path.join(root, 'dist/electron/onnx-worker.cjs'), eval: false });
    await runner.ready;
    expect(runner.threaded).toBe(true);
    expect(Array.from((await runner.run(Float32Array.of(1, 0, 0.5, 0.5), 2)).scores)).toEqual([0.25, 0.375]);
    await runner.release();
  });
});
