import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/workspace.js';

const electronInstalled = ((): boolean => {
  try {
    return fs.existsSync(createRequire(import.meta.url)('electron') as string);
  } catch {
    return false;
  }
})();

describe('npm start', () => {
  // On a machine that has Electron's binary, npm start opens the desktop app instead.
  it.skipIf(electronInstalled)('explains in one line that Electron cannot start, then serves the app and prints its URL', async () => {
    const child = spawn(process.execPath, [path.join(REPO, 'scripts', 'start.js'), '--port', '0'], {
      cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHADOWBENCH_HOME: tempDir(), SHADOWBENCH_NO_ELECTRON_DOWNLOAD: '1' },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c) => {
          out += c;
          const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out);
          if (m) resolve(m[0]);
        });
        child.on('exit', (code) => reject(new Error(`start exited with ${code}: ${err}`)));
      });
      const explanation = err.split('\n').filter((l) => /Electron/.test(l));
      expect(explanation).toHaveLength(1);
      expect(explanation[0]).toMatch(/Electron cannot start here .* serve mode/);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);
});
