import { defineConfig } from 'vitest/config';

// Three projects so that `npm test` can run the fast ones first and the browser tests last.
const setupFiles = ['test/helpers/cleanup.ts'];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/security/**/*.test.ts'], environment: 'node', setupFiles } },
      { test: { name: 'engine', include: ['test/engine/**/*.test.ts'], environment: 'node', setupFiles, testTimeout: 180_000, hookTimeout: 240_000 } },
      // One browser at a time: the machine has two cores and serve mode needs one of them.
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', setupFiles, testTimeout: 120_000, hookTimeout: 180_000, fileParallelism: false } },
    ],
  },
});
