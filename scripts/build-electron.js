#!/usr/bin/env node
// Bundles the Electron main process, the preload and the engine's utility-process host into
// dist/electron. Native modules stay external: better-sqlite3 is loaded through its nativeBinding
// option from .electron-native (see scripts/electron-sqlite.js); onnxruntime-node is N-API.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  external: ['electron', 'better-sqlite3', 'onnxruntime-node'],
  // The engine finds its files relative to import.meta.url; in a CommonJS bundle that is this file.
  banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__bundle_url' },
};

await Promise.all([
  build({ ...common, entryPoints: [path.join(root, 'electron/main/main.ts')], outfile: path.join(root, 'dist/electron/main.cjs') }),
  build({ ...common, entryPoints: [path.join(root, 'electron/preload/preload.ts')], outfile: path.join(root, 'dist/electron/preload.cjs') }),
  build({ ...common, entryPoints: [path.join(root, 'electron/hosts/utility.ts')], outfile: path.join(root, 'dist/electron/engine-host.cjs') }),
  // Loaded by the engine's bootstrap from beside engine-host.cjs (electron/engine/metrics).
  build({ ...common, entryPoints: [path.join(root, 'electron/engine/metrics/bootstrap-worker.ts')], outfile: path.join(root, 'dist/electron/bootstrap-worker.cjs') }),
  // Loaded by big imports from beside engine-host.cjs (electron/engine/importers/write-thread.ts).
  build({ ...common, entryPoints: [path.join(root, 'electron/engine/importers/write-worker.ts')], outfile: path.join(root, 'dist/electron/write-worker.cjs') }),
  // Loaded by big shadow runs from beside engine-host.cjs (electron/engine/runs/suggestion-sink.ts).
  build({ ...common, entryPoints: [path.join(root, 'electron/engine/runs/suggestion-worker.ts')], outfile: path.join(root, 'dist/electron/suggestion-worker.cjs') }),
  // Loaded by big change-risk runs, one per ONNX model, from beside engine-host.cjs (electron/engine/models/onnx-thread.ts).
  build({ ...common, entryPoints: [path.join(root, 'electron/engine/models/onnx-worker.ts')], outfile: path.join(root, 'dist/electron/onnx-worker.cjs') }),
  // Loaded by detection reports from beside engine-host.cjs (electron/engine/detection/report-thread.ts).
  build({ ...common, entryPoints: [path.join(root, 'electron/engine/detection/report-worker.ts')], outfile: path.join(root, 'dist/electron/report-worker.cjs') }),
]);
console.error('built dist/electron/{main,preload,engine-host,bootstrap-worker,write-worker,suggestion-worker,onnx-worker,report-worker}.cjs');
