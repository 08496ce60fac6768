#!/usr/bin/env node
// `npm start`: build the renderer if needed, then open the desktop app; where Electron cannot
// start (its binary is not installed and cannot be downloaded), say so in one line and serve the
// same app on 127.0.0.1 instead. `npm run serve` goes straight to serve mode.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const serveOnly = process.argv.includes('--serve');
const passthrough = process.argv.slice(2).filter((a) => a !== '--serve');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBuilt(target, sources, command, args) {
  const stale = !fs.existsSync(target) || sources.some((s) => newestMtime(s) > fs.statSync(target).mtimeMs);
  if (!stale) return;
  console.error(`building ${path.relative(root, target)}…`);
  const r = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function electronBinary() {
  try {
    // The electron package exports the binary's path, and throws if the binary was never installed.
    const binary = require('electron');
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

function tryInstallElectron() {
  // Our package.json denies electron's install script (it downloads the binary and would fail
  // `npm ci` offline); try the download now, once, and give up quietly if there is no network.
  const install = path.join(root, 'node_modules', 'electron', 'install.js');
  if (!fs.existsSync(install)) return;
  spawnSync(process.execPath, [install], { cwd: path.dirname(install), stdio: 'ignore', timeout: 120_000 });
}

function serve() {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'shadowbench.js'), 'serve', ...passthrough], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
}

ensureBuilt(path.join(root, 'dist', 'renderer', 'index.html'), [path.join(root, 'renderer'), path.join(root, 'shared')], process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn']);

if (serveOnly) {
  serve();
} else {
  let binary = electronBinary();
  if (!binary && !process.env.SHADOWBENCH_NO_ELECTRON_DOWNLOAD) {
    tryInstallElectron();
    binary = electronBinary();
  }
  if (!binary) {
    console.error('Electron cannot start here (its binary is not installed and could not be downloaded), so Shadowbench is starting in serve mode: open the URL below in your browser.');
    serve();
  } else {
    ensureBuilt(path.join(root, 'dist', 'electron', 'main.cjs'), [path.join(root, 'electron'), path.join(root, 'shared')], process.execPath, [path.join(root, 'scripts', 'build-electron.js')]);
    const sqlite = spawnSync(process.execPath, [path.join(root, 'scripts', 'electron-sqlite.js')], { stdio: 'inherit' });
    if (sqlite.status !== 0) {
      console.error('Electron is installed but its SQLite build could not be made; starting in serve mode instead.');
      serve();
    } else {
      const env = { ...process.env };
      delete env.ELECTRON_RUN_AS_NODE;
      const child = spawn(binary, [root], { stdio: 'inherit', env });
      child.on('exit', (code) => process.exit(code ?? 0));
    }
  }
}
