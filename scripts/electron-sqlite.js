#!/usr/bin/env node
// Builds better-sqlite3 for Electron's ABI into .electron-native/, once. node_modules keeps the
// Node build that the tests and the CLI use; rebuilding it in place would break them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const target = path.join(root, '.electron-native', 'better_sqlite3.node');
const electronVersion = require('electron/package.json').version;
const stamp = path.join(root, '.electron-native', 'electron-version');
if (fs.existsSync(target) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === electronVersion) process.exit(0);

const work = path.join(root, '.electron-native', 'build');
fs.rmSync(work, { recursive: true, force: true });
fs.cpSync(path.dirname(require.resolve('better-sqlite3/package.json')), work, { recursive: true, filter: (src) => !src.includes(`${path.sep}build${path.sep}`) });
const npmDir = path.dirname(path.dirname(process.env.npm_execpath ?? require.resolve('npm/package.json')));
const nodeGyp = [path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), path.join(npmDir, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find((p) => fs.existsSync(p));
if (!nodeGyp) {
  console.error('node-gyp not found; cannot build better-sqlite3 for Electron');
  process.exit(1);
}
console.error(`building better-sqlite3 for Electron ${electronVersion} (once)…`);
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--release', `--target=${electronVersion}`, '--dist-url=https://electronjs.org/headers', `--arch=${process.arch}`], { cwd: work, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
fs.copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), target);
fs.writeFileSync(stamp, electronVersion);
