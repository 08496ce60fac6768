#!/usr/bin/env node
// Compiles shared/metrics/resample-kernel.wat to the base64 module that resample.ts instantiates.
// The output is committed (shared/ must load in Node and in the renderer with no build step of its
// own); test/unit/resample-kernel.test.ts fails if it drifts from the .wat.
//   node scripts/build-wasm.js           write it
//   node scripts/build-wasm.js --check   exit 1 if the committed file differs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileKernel, kernelModuleSource } from './wasm-kernel.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'shared/metrics/resample-kernel.wasm.ts');
const source = kernelModuleSource(await compileKernel(fs.readFileSync(path.join(root, 'shared/metrics/resample-kernel.wat'), 'utf8')));
if (process.argv.includes('--check')) {
  const same = fs.existsSync(target) && fs.readFileSync(target, 'utf8') === source;
  if (!same) console.error(`${path.relative(root, target)} is out of date: run node scripts/build-wasm.js`);
  process.exit(same ? 0 : 1);
}
fs.writeFileSync(target, source);
console.log(`wrote ${path.relative(root, target)}`);
