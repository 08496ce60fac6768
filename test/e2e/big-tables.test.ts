import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli.js';
import { launchBrowser, serve, watchConsole, type Served } from '../helpers/browser.js';
import { tempDir, writeFile } from '../helpers/workspace.js';

const N = 100_000;
let served: Served;
let browser: Browser;

beforeAll(async () => {
  const dir = tempDir();
  const start = Date.UTC(2026, 0, 1);
  const rows = Array.from({ length: N }, (_, i) => `c${String(i).padStart(6, '0')},svc${i % 3},${start + i * 60_000},${(i * 31) % 400}`);
  const file = writeFile(dir, 'changes.csv', `id,service,timestamp,lines_added\n${rows.join('\n')}\n`);
  const workspace = path.join(dir, 'big.sbw');
  const quiet = { out: () => undefined, err: () => undefined, isTTY: false };
  expect(await runCli(['import', '--workspace', workspace, '--create', '--kind', 'changes', '--time-unit', 'ms', file], quiet)).toBe(0);
  served = await serve(['--workspace', workspace]);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

describe('tables at 100k rows', () => {
  it('draw only the visible rows and reach the last row by scrolling', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems = watchConsole(page);
    await page.goto(`${served.url}#/explore`);
    await page.getByLabel(/only svc0/).uncheck();
    const table = page.getByTestId('changes-table');
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=changes-table]')?.getAttribute('data-total')) === n, N);
    expect(await table.locator('.vrow').count()).toBeLessThan(60);
    expect(await table.locator('.vrow').first().textContent()).toContain('c099999');
    await table.locator('.vtable-body').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await table.getByText('c000000').waitFor({ timeout: 10_000 });
    expect(await table.locator('.vrow').count()).toBeLessThan(60);
    expect(problems).toEqual([]);
  });
});
