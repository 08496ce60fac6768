import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO, tempDir } from './workspace.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless, with nothing that phones home (this machine has no network). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export interface Served {
  url: string;
  origin: string;
  token: string;
  port: number;
  workspacesDir: string;
  stop(): Promise<void>;
}

/** Runs `shadowbench serve` as its own process, exactly as a user would, and reads the URL it prints. */
export async function serve(args: string[] = [], workspacesDir = tempDir('sbw-serve-')): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO, 'bin', 'shadowbench.js'), 'serve', '--port', '0', '--workspaces-dir', workspacesDir, ...args], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHADOWBENCH_HOME: workspacesDir },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not print a URL:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
  });
  const parsed = new URL(url);
  return {
    url, origin: parsed.origin, token: parsed.searchParams.get('token')!, port: Number(parsed.port), workspacesDir,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** Fails the test on any console error or CSP violation the page reports. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

/**
 * Where a browser test's screenshot goes: test-results/screenshots/ (ignored by git) on a plain
 * `npm test`, so running the tests leaves the checkout clean; docs/screenshots/, the README's, with
 * `npm run screenshots` (SBW_SCREENSHOTS=1).
 */
export function screenshotPath(name: string): string {
  const dir = process.env['SBW_SCREENSHOTS'] === '1' ? path.join(REPO, 'docs', 'screenshots') : path.join(REPO, 'test-results', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

export interface OpenApp {
  served: Served;
  browser: Browser;
  page: Page;
  /** console errors and page errors seen so far */
  problems: string[];
  close(): Promise<void>;
}

/** Serve mode in its own process, Chromium on it, one page at the served URL. */
export async function openApp(args: string[] = []): Promise<OpenApp> {
  const served = await serve(args);
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = watchConsole(page);
  await page.goto(served.url);
  return {
    served, browser, page, problems,
    async close() {
      await browser.close();
      await served.stop();
    },
  };
}
