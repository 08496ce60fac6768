import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PUBLIC_METHOD_NAMES, METHOD_NAMES } from '../../shared/contract/methods.js';
import { rendererResponse } from '../../electron/main/protocol.js';
import { CHANNELS, registerIpc, type EngineLink } from '../../electron/main/ipc.js';
import { APP_ORIGIN, installSecurity, isAllowedExternal, secureWebPreferences } from '../../electron/main/security.js';
import { tempDir } from '../helpers/workspace.js';

// A stand-in for the parts of Electron the shell touches; the real binary cannot run here.
const electron = vi.hoisted(() => {
  const listeners = new Map<string, (...args: unknown[]) => void>();
  return {
    exposed: new Map<string, unknown>(),
    windows: [] as Array<{ options: { webPreferences: Record<string, unknown> }; loaded: string | null }>,
    appListeners: listeners,
    handlers: new Map<string, (...args: unknown[]) => unknown>(),
    sandboxEnabled: false,
    schemes: [] as unknown[],
    forks: [] as Array<{ file: string; env: Record<string, string> }>,
    ready: null as null | (() => void),
  };
});

vi.mock('electron', () => {
  class FakeBrowserWindow {
    options: { webPreferences: Record<string, unknown> };
    loaded: string | null = null;
    webContents = { send: vi.fn() };
    constructor(options: { webPreferences: Record<string, unknown> }) {
      this.options = options;
      electron.windows.push(this);
    }
    on() {}
    once() {}
    loadURL(url: string) {
      this.loaded = url;
      return Promise.resolve();
    }
  }
  const app = {
    enableSandbox: () => (electron.sandboxEnabled = true),
    whenReady: () => new Promise<void>((resolve) => (electron.ready = resolve)),
    on: (name: string, fn: (...args: unknown[]) => void) => electron.appListeners.set(name, fn),
    quit: vi.fn(),
  };
  const session = { defaultSession: { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn() } };
  return {
    app, session, BrowserWindow: FakeBrowserWindow,
    shell: { openExternal: vi.fn() },
    dialog: { showOpenDialog: vi.fn() },
    ipcMain: { handle: (channel: string, fn: (...args: unknown[]) => unknown) => electron.handlers.set(channel, fn) },
    protocol: { registerSchemesAsPrivileged: (s: unknown[]) => electron.schemes.push(...s), handle: vi.fn() },
    utilityProcess: { fork: (file: string, _args: string[], options: { env: Record<string, string> }) => {
      electron.forks.push({ file, env: options.env });
      return { on: vi.fn(), postMessage: vi.fn() };
    } },
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => electron.exposed.set(key, value) },
    ipcRenderer: { invoke: vi.fn(async (...args: unknown[]) => args), on: vi.fn(), removeListener: vi.fn() },
  };
});

describe('Electron main window', () => {
  it('is created with isolation, sandbox, no Node and no webview, and loads only the app origin', async () => {
    await import('../../electron/main/main.js');
    expect(electron.sandboxEnabled).toBe(true);
    electron.ready!();
    await new Promise((r) => setTimeout(r, 0));
    expect(electron.windows).toHaveLength(1);
    const prefs = electron.windows[0]!.options.webPreferences;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, webSecurity: true, allowRunningInsecureContent: false });
    expect(String(prefs.preload)).toMatch(/preload\.cjs$/);
    expect(electron.windows[0]!.loaded).toBe(`${APP_ORIGIN}/index.html`);
    // The engine runs in a utility process with Electron's own SQLite build.
    expect(electron.forks[0]!.file).toMatch(/engine-host\.cjs$/);
    expect(electron.forks[0]!.env.SHADOWBENCH_SQLITE_BINDING).toMatch(/\.electron-native[/\\]better_sqlite3\.node$/);
    expect(electron.handlers.has(CHANNELS.call)).toBe(true);
  });

  it('secureWebPreferences never turns a protection off', () => {
    const prefs = secureWebPreferences('/p.cjs');
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
    expect(prefs.navigateOnDragDrop).toBe(false);
  });
});

describe('navigation, windows, webviews and permissions', () => {
  type Handler = (...args: unknown[]) => unknown;
  let contents: { events: Map<string, Handler>; openHandler: Handler | null };
  let openExternal: ReturnType<typeof vi.fn>;
  let permission: Handler;
  let check: Handler;

  beforeEach(() => {
    const appEvents = new Map<string, Handler>();
    const app = { on: (name: string, fn: Handler) => appEvents.set(name, fn) };
    const session = { setPermissionRequestHandler: (fn: Handler) => (permission = fn), setPermissionCheckHandler: (fn: Handler) => (check = fn) };
    openExternal = vi.fn(async () => undefined);
    installSecurity(app as never, session as never, { openExternal } as never);
    contents = { events: new Map(), openHandler: null };
    const fakeContents = { on: (name: string, fn: Handler) => contents.events.set(name, fn), setWindowOpenHandler: (fn: Handler) => (contents.openHandler = fn) };
    appEvents.get('web-contents-created')!({}, fakeContents);
  });

  it('refuses navigation away from the app', () => {
    const away = { preventDefault: vi.fn() };
    contents.events.get('will-navigate')!(away, 'https://evil.example/');
    expect(away.preventDefault).toHaveBeenCalled();
    const home = { preventDefault: vi.fn() };
    contents.events.get('will-navigate')!(home, `${APP_ORIGIN}/index.html#/data`);
    expect(home.preventDefault).not.toHaveBeenCalled();
    const redirect = { preventDefault: vi.fn() };
    contents.events.get('will-redirect')!(redirect, 'file:///etc/passwd');
    expect(redirect.preventDefault).toHaveBeenCalled();
  });

  it('denies every new window and opens only allow-listed https links outside', () => {
    expect(contents.openHandler!({ url: 'https://github.com/shadowbench' })).toEqual({ action: 'deny' });
    expect(openExternal).toHaveBeenCalledWith('https://github.com/shadowbench');
    expect(contents.openHandler!({ url: 'http://github.com/' })).toEqual({ action: 'deny' });
    expect(contents.openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(contents.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(openExternal).toHaveBeenCalledTimes(1);
    expect(isAllowedExternal('https://user:pw@github.com/')).toBe(false);
  });

  it('refuses webviews and every permission request', () => {
    const attach = { preventDefault: vi.fn() };
    contents.events.get('will-attach-webview')!(attach, {}, {});
    expect(attach.preventDefault).toHaveBeenCalled();
    const callback = vi.fn();
    permission({}, 'media', callback);
    expect(callback).toHaveBeenCalledWith(false);
    expect(check({}, 'notifications')).toBe(false);
  });
});

describe('IPC', () => {
  const frame = (url: string, parent: unknown = null) => ({ senderFrame: { url, parent } });
  let handlers: Map<string, (...args: unknown[]) => Promise<unknown>>;
  let engine: EngineLink & { calls: unknown[][] };
  let dialog: { showOpenDialog: ReturnType<typeof vi.fn> };

  beforeEach(() => {
    handlers = new Map();
    engine = { calls: [], call: async (...args: unknown[]) => { engine.calls.push(args); return { ok: true, value: 'called' }; } };
    dialog = { showOpenDialog: vi.fn(async () => ({ canceled: false, filePaths: ['/home/sre/metrics.csv'] })) };
    registerIpc({ handle: (c: string, fn: (...args: unknown[]) => Promise<unknown>) => handlers.set(c, fn) } as never, engine, dialog as never);
  });

  it('checks the sender: only the app origin, top frame', async () => {
    const call = handlers.get(CHANNELS.call)!;
    expect(await call(frame(`${APP_ORIGIN}/index.html`), 'app.info', {})).toEqual({ ok: true, value: 'called' });
    expect(await call(frame('https://evil.example/'), 'app.info', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(frame(`${APP_ORIGIN}/index.html`, { url: APP_ORIGIN }), 'app.info', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(engine.calls).toHaveLength(1);
  });

  it('never forwards a path-taking method from the window, and passes calls as unprivileged', async () => {
    const call = handlers.get(CHANNELS.call)!;
    expect(await call(frame(`${APP_ORIGIN}/`), 'workspace.openPath', { path: '/etc/passwd' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(frame(`${APP_ORIGIN}/`), 'no.such', {})).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
    await call(frame(`${APP_ORIGIN}/`), 'services.list', {});
    expect(engine.calls).toEqual([['services.list', {}, false]]);
  });

  it('imports a file only by a path from the user\'s own dialog', async () => {
    const importWithDialog = handlers.get(CHANNELS.importWithDialog)!;
    await importWithDialog(frame(`${APP_ORIGIN}/`), { kind: 'telemetry', path: '/etc/shadow' });
    expect(engine.calls).toEqual([['import.startPath', expect.objectContaining({ kind: 'telemetry', path: '/home/sre/metrics.csv' }), true]]);
    expect(await importWithDialog(frame(`${APP_ORIGIN}/`), { kind: 'nonsense' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });
});

describe('preload', () => {
  it('exposes one frozen object with a function per public contract method and nothing privileged', async () => {
    await import('../../electron/preload/preload.js');
    const bridge = electron.exposed.get('shadowbench') as { methods: Record<string, unknown>; call: (m: string, i: unknown) => Promise<unknown> };
    expect(Object.isFrozen(bridge)).toBe(true);
    expect(Object.isFrozen(bridge.methods)).toBe(true);
    expect(Object.keys(bridge.methods).sort()).toEqual([...PUBLIC_METHOD_NAMES].sort());
    expect(Object.keys(bridge).sort()).toEqual(['call', 'importWithDialog', 'methods', 'onEvent']);
    const privileged = METHOD_NAMES.filter((m) => !PUBLIC_METHOD_NAMES.includes(m));
    expect(privileged.length).toBeGreaterThan(0);
    for (const m of privileged) expect(await bridge.call(m, {})).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
  });
});

describe('app:// protocol', () => {
  it('serves files inside the renderer folder with the CSP, and nothing outside it', async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'index.html'), '<html></html>');
    fs.writeFileSync(path.join(path.dirname(root), 'secret.txt'), 'secret');
    const ok = rendererResponse(root, `${APP_ORIGIN}/`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'self'");
    for (const escape of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      expect(rendererResponse(root, `${APP_ORIGIN}${escape}`).status, escape).toBe(404);
    }
  });
});
