import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import sirv from 'sirv';
import type { ErrorCode } from '../../shared/contract/result.js';
import { sweepUploads, type Engine } from '../engine/engine.js';

/**
 * Serve mode: the built renderer and the engine API on loopback only.
 *
 * The API is reachable by any page the user's browser opens, so every API request must carry the
 * per-start token, and every request must name this server in its Host header (defeats DNS
 * rebinding) and come from this origin if it says where it comes from (defeats cross-site calls).
 */
export interface ServeOptions {
  engine: Engine;
  port?: number;
  rendererDir: string;
  token?: string;
  maxJsonBytes?: number;
  /** largest upload taken (default 64 GiB); an upload is also refused where it would leave the disk under 1 GiB free */
  maxUploadBytes?: number;
}

const GIB = 1024 ** 3;

export interface Server {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const STATUS: Partial<Record<ErrorCode, number>> = {
  bad_request: 400, unknown_method: 404, forbidden: 403, not_found: 404, no_workspace: 409, conflict: 409, internal: 500,
};

export async function startServer(options: ServeOptions): Promise<Server> {
  const token = options.token ?? crypto.randomBytes(24).toString('base64url');
  const maxJson = options.maxJsonBytes ?? 1 << 20;
  const statics = fs.existsSync(path.join(options.rendererDir, 'index.html'))
    ? sirv(options.rendererDir, { dev: false, etag: true, gzip: false, setHeaders: (res) => setSecurityHeaders(res) })
    : null;
  let port = options.port ?? 0;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const allowedOrigins = (): string[] => allowedHosts().map((h) => `http://${h}`);
  const sseClients = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    try {
      route(req, res);
    } catch (err) {
      // A request target or path no URL parser takes (`http://[`, `/api/%E0%A4%A`) is the
      // client's mistake; nothing a request carries may take the server down.
      send(res, 400, { ok: false, error: { code: 'bad_request', message: `Bad request: ${(err as Error).message}` } });
    }
  });
  // Malformed HTTP (before a request exists) closes that connection only.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  function route(req: http.IncomingMessage, res: http.ServerResponse): void {
    setSecurityHeaders(res);
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!allowedHosts().includes(req.headers.host ?? '')) return send(res, 403, { ok: false, error: { code: 'forbidden', message: 'Host header does not name this server' } });
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().includes(origin)) return send(res, 403, { ok: false, error: { code: 'forbidden', message: 'Cross-origin requests are refused' } });
    if (req.headers['sec-fetch-site'] === 'cross-site') return send(res, 403, { ok: false, error: { code: 'forbidden', message: 'Cross-site requests are refused' } });

    if (url.pathname.startsWith('/api/')) {
      const presented = url.pathname === '/api/events' ? url.searchParams.get('token') : bearer(req.headers.authorization);
      if (!sameSecret(presented, token)) return send(res, 401, { ok: false, error: { code: 'forbidden', message: 'Missing or wrong API token; open the URL printed by `shadowbench serve`' } });
      if (url.pathname === '/api/events' && req.method === 'GET') return events(res);
      if (req.method !== 'POST') return send(res, 405, { ok: false, error: { code: 'bad_request', message: 'API calls are POST' } });
      if (url.pathname === '/api/upload') return void upload(req, res, url).catch((err: Error) => send(res, err instanceof UploadRefused ? 413 : 500, { ok: false, error: { code: err instanceof UploadRefused ? 'bad_request' : 'internal', message: err.message } }));
      const method = decodeURIComponent(url.pathname.slice('/api/'.length));
      return void call(req, res, method).catch((err: Error) => send(res, 500, { ok: false, error: { code: 'internal', message: err.message } }));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { ok: false, error: { code: 'bad_request', message: 'Method not allowed' } });
    if (!statics) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('The renderer is not built. Run `npm run build` (npm start does it for you).');
    }
    statics(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Not found');
    });
  }

  function events(res: http.ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    sseClients.add(res);
    res.on('close', () => sseClients.delete(res));
  }
  const unsubscribe = options.engine.onEvent((event) => {
    const data = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const client of sseClients) client.write(data);
  });
  const keepAlive = setInterval(() => {
    for (const client of sseClients) client.write(': ping\n\n');
  }, 15_000);

  async function call(req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(res, 415, { ok: false, error: { code: 'bad_request', message: 'API calls take a JSON body (Content-Type: application/json)' } });
    }
    let body = '';
    let size = 0;
    try {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > maxJson) {
          // Stop reading and close the connection once the answer is out; a kept-alive socket with
          // an unread body would garble the next request on it.
          res.setHeader('Connection', 'close');
          send(res, 413, { ok: false, error: { code: 'bad_request', message: `Request body is larger than ${maxJson} bytes` } });
          const socket = req.socket;
          res.on('finish', () => socket.destroy());
          return;
        }
        body += (chunk as Buffer).toString('utf8');
      }
    } catch {
      return;
    }
    let input: unknown;
    try {
      input = body.trim() === '' ? {} : JSON.parse(body);
    } catch (err) {
      return send(res, 400, { ok: false, error: { code: 'bad_request', message: `Request body is not valid JSON: ${(err as Error).message}` } });
    }
    const result = await options.engine.dispatch(method, input, { privileged: false });
    send(res, result.ok ? 200 : STATUS[result.error.code] ?? 422, result);
  }

  async function upload(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const id = crypto.randomBytes(16).toString('hex');
    fs.mkdirSync(options.engine.uploadsDir, { recursive: true });
    // A server runs for weeks: uploads nobody imported (a dry run, a refusal, a closed tab) go once
    // stale here as well as at start, so raw files do not pile up beside the workspaces.
    sweepUploads(options.engine.uploadsDir);
    const file = path.join(options.engine.uploadsDir, id);
    // A cap, and room left on the disk: the workspace beside the uploads must still be writable.
    const disk = fs.statfsSync(options.engine.uploadsDir);
    const room = Math.max(0, disk.bavail * disk.bsize - GIB);
    const limit = Math.min(options.maxUploadBytes ?? 64 * GIB, room);
    const declared = Number(req.headers['content-length'] ?? NaN);
    const tooLarge = (): UploadRefused => new UploadRefused(limit === room
      ? `The upload does not fit: it would leave less than 1 GiB free on the disk that holds ${options.engine.uploadsDir}`
      : `The upload is larger than ${limit.toLocaleString('en-US')} bytes; import a file this large with the CLI (shadowbench import), which reads it in place`);
    // The body is not read to its end: close the connection once the answer is out.
    const socket = req.socket;
    const closeAfter = (): void => {
      res.setHeader('Connection', 'close');
      res.on('finish', () => socket.destroy());
    };
    if (declared > limit) {
      closeAfter();
      throw tooLarge();
    }
    let seen = 0;
    const out = fs.createWriteStream(file, { flags: 'wx' });
    try {
      await pipeline(req, async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          seen += chunk.length;
          if (seen > limit) throw tooLarge();
          yield chunk;
        }
      }, out);
    } catch (err) {
      // The file is opened asynchronously: removed before the stream has opened (and closed) it, it
      // came back, empty, once the open completed. Wait for the stream to close first.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      fs.rmSync(file, { force: true });
      if (err instanceof UploadRefused) closeAfter();
      throw err;
    }
    const name = (url.searchParams.get('name') ?? 'upload').slice(0, 255);
    send(res, 200, { ok: true, value: { uploadId: id, fileName: name, bytes: fs.statSync(file).size } });
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    // A port in use: nothing of this server may keep the process alive after the error is told.
    clearInterval(keepAlive);
    unsubscribe();
    throw err;
  }
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      clearInterval(keepAlive);
      unsubscribe();
      for (const client of sseClients) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An upload refused for its size (413), not a fault of the server. */
class UploadRefused extends Error {}

function setSecurityHeaders(res: http.ServerResponse): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(json);
}

function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

function sameSecret(presented: string | null, token: string): boolean {
  if (presented === null) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
