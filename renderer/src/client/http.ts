import type { EngineEvent, Result } from '../../../shared/contract/result.js';
import type { Transport } from './client.js';

const TOKEN_KEY = 'shadowbench.token';

/**
 * Serve mode. The token arrives once in the URL; it is moved to session storage and removed from
 * the address bar so it does not end up in history, bookmarks or screenshots.
 */
export function readToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function httpTransport(token: string): Transport {
  const listeners = new Set<(event: EngineEvent) => void>();
  let source: EventSource | null = null;
  const connect = (): void => {
    if (source) return;
    source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
    source.addEventListener('job', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as EngineEvent;
      for (const l of listeners) l(event);
    });
  };
  return {
    kind: 'http',
    async call(method, input) {
      let response: Response;
      try {
        response = await fetch(`/api/${encodeURIComponent(method)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify(input ?? {}),
        });
      } catch (err) {
        return { ok: false, error: { code: 'internal', message: `Cannot reach the Shadowbench server: ${(err as Error).message}` } };
      }
      try {
        return (await response.json()) as Result<unknown>;
      } catch {
        return { ok: false, error: { code: 'internal', message: `The server answered ${response.status} without a result` } };
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      connect();
      return () => listeners.delete(listener);
    },
    upload(file, onProgress) {
      // XMLHttpRequest, because fetch cannot report upload progress.
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', `/api/upload?name=${encodeURIComponent(file.name)}`);
        xhr.setRequestHeader('Authorization', `Bearer ${token}`);
        xhr.setRequestHeader('Content-Type', 'application/octet-stream');
        xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
        xhr.onerror = () => reject(new Error('Upload failed: the server closed the connection'));
        xhr.onload = () => {
          const body = JSON.parse(xhr.responseText) as Result<{ uploadId: string; fileName: string }>;
          if (body.ok) resolve(body.value);
          else reject(new Error(body.error.message));
        };
        xhr.send(file);
      });
    },
  };
}
