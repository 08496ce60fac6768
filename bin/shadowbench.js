#!/usr/bin/env node
// Runs the TypeScript CLI straight from source through tsx, so there is no build step between a
// checkout and a working `shadowbench`.
import { register } from 'tsx/esm/api';

register();
await import('../electron/cli-main.ts');
