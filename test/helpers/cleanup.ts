import fs from 'node:fs';
import { afterAll } from 'vitest';
import { madeDirs } from './workspace.js';

// Every test file's workspaces, imports and servers' folders go once the file is done: a few hundred
// runs of the suite had left 30 GB in /tmp. Set SBW_KEEP_TEMP=1 to keep them for a post-mortem.
// Registered before the file's own hooks, so it runs after them (vitest runs after-hooks as a stack),
// when engines and servers are closed.
afterAll(() => {
  if (process.env['SBW_KEEP_TEMP'] === '1') return;
  for (const dir of madeDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});
