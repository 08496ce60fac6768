import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The package root, whether running from source (tsx) or from the bundled dist/electron. */
export const PACKAGE_ROOT = path.resolve(here, '../..');

export function defaultWorkspacesDir(): string {
  return process.env.SHADOWBENCH_HOME ? path.resolve(process.env.SHADOWBENCH_HOME) : path.join(os.homedir(), '.shadowbench', 'workspaces');
}

export const RENDERER_DIR = path.join(PACKAGE_ROOT, 'dist', 'renderer');
export const SAMPLE_DATA_DIR = path.join(PACKAGE_ROOT, 'sample-data', 'demo');
