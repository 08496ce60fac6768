import { useEffect } from 'react';
import { JobTray } from './components/Progress.js';
import { Audit } from './pages/Audit.js';
import { Compare } from './pages/Compare.js';
import { Data } from './pages/Data.js';
import { Detection } from './pages/Detection.js';
import { Drills } from './pages/Drills.js';
import { Explore } from './pages/Explore.js';
import { Home } from './pages/Home.js';
import { Models } from './pages/Models.js';
import { Results } from './pages/Results.js';
import { Runs } from './pages/Runs.js';
import { Settings } from './pages/Settings.js';
import { PAGES, useStore, type Page } from './store.js';

const TITLES: Record<Page, string> = {
  home: 'Home', data: 'Data', explore: 'Explore', models: 'Models', runs: 'Runs', results: 'Results',
  compare: 'Compare', detection: 'Detection', drills: 'Drills', audit: 'Audit', settings: 'Settings',
};

export function App() {
  const { page, navigate, theme, setTheme, workspace, error, dismissError, client } = useStore();
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  // The window title says where one is (a screen reader reads it; so does a tab strip of several windows).
  // Set only when it changes: the workspace object is replaced on every job event.
  const workspaceName = workspace?.name ?? null;
  useEffect(() => {
    const title = `${TITLES[page]}${workspaceName ? ` · ${workspaceName}` : ''} — Shadowbench`;
    if (document.title !== title) document.title = title;
  }, [page, workspaceName]);
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand" title="Shadowbench"><span className="logo" aria-hidden>◐</span> <span className="brand-name">Shadowbench</span></div>
        <nav className="nav" aria-label="Pages">
          {PAGES.map((p) => (
            <button key={p} className={page === p ? 'active' : ''} aria-current={page === p ? 'page' : undefined} onClick={() => navigate(p)} disabled={p !== 'home' && !workspace} data-testid={`nav-${p}`}>
              {TITLES[p]}
            </button>
          ))}
        </nav>
        <div className="topbar-right">
          <span className="workspace-name" data-testid="workspace-name" title={workspace ? workspace.path : undefined}>{workspace ? workspace.name : 'no workspace'}</span>
          <span className="muted small">{client?.transport.kind === 'http' ? 'serve mode' : 'desktop'}</span>
          <button className="icon" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label="Switch theme" title="Switch light/dark theme">
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      {error && (
        <div className="banner error" role="alert">
          <span>{error}</span>
          <button className="link" onClick={dismissError}>Dismiss</button>
        </div>
      )}
      <main>
        {page === 'home' && <Home />}
        {page === 'data' && <Data />}
        {page === 'explore' && <Explore />}
        {page === 'models' && <Models />}
        {page === 'runs' && <Runs />}
        {page === 'results' && <Results />}
        {page === 'compare' && <Compare />}
        {page === 'detection' && <Detection />}
        {page === 'drills' && <Drills />}
        {page === 'audit' && <Audit />}
        {page === 'settings' && <Settings />}
      </main>
      <JobTray />
    </div>
  );
}
