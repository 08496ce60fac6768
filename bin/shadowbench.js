#!/usr/bin/env node
// Runs the TypeScript CLI straight from source through tsx, so there is no build step between a
// checkout and a working `shadowbench`.
import { register } from 'tsx/esm/api';

// `npm run cli -- …` runs from the package's folder; the paths on its command line are the caller's.
if (process.env.npm_lifecycle_event === 'cli' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

register();
await import('../electron/cli-main.ts');
