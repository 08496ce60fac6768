import fs from 'node:fs';
import path from 'node:path';
import { CSP } from './security.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.woff2': 'font/woff2',
};

/**
 * Serves the built renderer for `app://shadowbench/…`. Only files inside `root` are served; any
 * path that resolves outside it (../, encoded or not) is a 404.
 */
export function rendererResponse(root: string, requestUrl: string): Response {
  const url = new URL(requestUrl);
  const relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
  const file = path.resolve(root, `.${relative}`);
  if (!file.startsWith(path.resolve(root) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    return new Response('Not found', { status: 404 });
  }
  return new Response(fs.readFileSync(file), {
    headers: { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' },
  });
}
