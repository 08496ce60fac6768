import { app, BrowserWindow, dialog, ipcMain, protocol, session, shell, utilityProcess } from 'electron';
import path from 'node:path';
import { CHANNELS, registerIpc } from './ipc.js';
import { linkToEngine } from './engine-link.js';
import { rendererResponse } from './protocol.js';
import { APP_ORIGIN, APP_SCHEME, installSecurity, secureWebPreferences } from './security.js';

// Bundled to dist/electron/main.cjs; the renderer build sits beside it in dist/renderer.
const dist = path.resolve(__dirname, '..');
const root = path.resolve(dist, '..');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

app.enableSandbox();

void app.whenReady().then(() => {
  installSecurity(app, session.defaultSession, shell);
  protocol.handle(APP_SCHEME, (request) => rendererResponse(path.join(dist, 'renderer'), request.url));

  // SQLite and ONNX work runs in a utility process so it never freezes the window.
  const engineProcess = utilityProcess.fork(path.join(dist, 'electron', 'engine-host.cjs'), [], {
    serviceName: 'shadowbench-engine',
    env: {
      ...process.env,
      SHADOWBENCH_SQLITE_BINDING: path.join(root, '.electron-native', 'better_sqlite3.node'),
      SHADOWBENCH_SAMPLE_DATA: path.join(root, 'sample-data', 'demo'),
    },
  });
  const windows = new Set<BrowserWindow>();
  const engine = linkToEngine(engineProcess, (event) => {
    for (const w of windows) w.webContents.send(CHANNELS.event, event);
  });
  registerIpc(ipcMain, engine, dialog);

  const win = new BrowserWindow({
    width: 1400, height: 900, title: 'Shadowbench', show: false,
    webPreferences: secureWebPreferences(path.join(dist, 'electron', 'preload.cjs')),
  });
  windows.add(win);
  win.on('closed', () => windows.delete(win));
  win.once('ready-to-show', () => win.show());
  void win.loadURL(`${APP_ORIGIN}/index.html`);
});

app.on('window-all-closed', () => app.quit());
