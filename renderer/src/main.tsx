import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { createClient } from './client/client.js';
import { httpTransport, readToken } from './client/http.js';
import { ipcTransport } from './client/ipc.js';
import { useStore } from './store.js';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

function fatal(message: string): void {
  root.render(<div className="fatal"><h1>Shadowbench</h1><p>{message}</p></div>);
}

const bridge = window.shadowbench;
const token = bridge ? null : readToken();
if (!bridge && !token) {
  fatal('This page needs the API token. Open the full URL that `npm start` or `shadowbench serve` printed (it ends in ?token=…).');
} else {
  const client = createClient(bridge ? ipcTransport(bridge) : httpTransport(token!));
  void useStore.getState().start(client);
  root.render(<StrictMode><App /></StrictMode>);
}
