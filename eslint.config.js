import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/**
 * Lint, and the layer rules of DESIGN.md §2: who may import whom is decided by the folder a file
 * lives in. tsconfig per layer enforces the same from the other side (shared/ has no Node or DOM
 * types, so `node:fs` does not even resolve there).
 */
// Bare package names go in `paths` (exact match); `patterns` are gitignore-style and would also
// match our own electron/ folder.
const NODE_BUILTINS = ['fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net', 'stream', 'zlib', 'url', 'util', 'worker_threads'];
const names = (list, message) => list.map((name) => ({ name, message }));

const restrict = (paths, patterns) => ['error', { paths, patterns }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.electron-native/**', '.tmp/**', 'coverage/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // `l`: V8's linear-time regex engine, which the app turns on for the workspace's own PII rules.
      'no-invalid-regexp': ['error', { allowConstructorFlags: ['l'] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.property.name=/^(exec|prepare)$/] > TemplateLiteral[expressions.length>0] > Identifier[name=/^(input|params|query|body)$/]", message: 'SQL must bind values, never splice request input into a statement' }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        ...names(NODE_BUILTINS, 'shared/ is pure TypeScript: no Node built-ins'),
        ...names(['electron', 'react', 'react-dom', 'better-sqlite3', 'onnxruntime-node'], 'shared/ runs anywhere: no Electron, DOM frameworks or native modules'),
      ], [
        { group: ['node:*'], message: 'shared/ is pure TypeScript: no Node built-ins' },
        { group: ['**/electron/**', '**/renderer/**'], message: 'shared/ imports nothing of ours outside shared/' },
      ]),
    },
  },
  {
    files: ['electron/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(names(['electron'], 'the engine never imports electron: it runs in Node, the CLI and tests too'), [
        { group: ['**/renderer/**', '**/hosts/**', '**/main/**', '**/preload/**', '**/cli*'], message: 'the engine depends on shared/ only' },
      ]),
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      'no-restricted-imports': restrict(names([...NODE_BUILTINS, 'electron', 'better-sqlite3', 'onnxruntime-node'], 'the renderer is a web page: it reaches the engine through the client only'), [
        { group: ['node:*'], message: 'the renderer is a web page: it reaches the engine through the client only' },
        { group: ['**/electron/**'], message: 'the renderer imports shared/ only; engine code runs behind the client' },
      ]),
    },
  },
  {
    files: ['electron/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(names(['better-sqlite3', 'onnxruntime-node', ...NODE_BUILTINS], 'the sandboxed preload can load only electron and bundled pure code'), [
        { group: ['**/engine/**', 'node:*'], message: 'the sandboxed preload can load only electron and bundled pure code' },
      ]),
    },
  },
);
