import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, screenshotPath, type OpenApp } from '../helpers/browser.js';
import { sklearnStyleLogistic } from '../helpers/onnx-models.js';
import { tempDir } from '../helpers/workspace.js';

let app: OpenApp;
let page: Page;
let problems: string[];

beforeAll(async () => {
  app = await openApp();
  ({ page, problems } = app);
  await app.page.getByTestId('open-demo').click();
  await app.page.getByTestId('timeline').waitFor({ timeout: 90_000 });
});

afterAll(() => app?.close());

describe('change risk in the browser', () => {
  it('trains baselines and registers an ONNX model exported the skl2onnx way', async () => {
    await page.getByTestId('nav-models').click();
    await page.getByTestId('train-name').fill('risk-lr');
    await page.getByTestId('train-start').click();
    await page.getByTestId('train-done').waitFor();
    await page.getByTestId('train-name').fill('rules');
    await page.getByTestId('train-kind').selectOption('heuristic');
    await page.getByTestId('train-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=train-done]')?.textContent?.includes('rules'));

    const file = path.join(tempDir(), 'sk.onnx');
    fs.writeFileSync(file, sklearnStyleLogistic([0.004, 0.05], -3));
    await page.getByTestId('onnx-file').setInputFiles(file);
    await page.getByTestId('onnx-manifest').fill(JSON.stringify({ name: 'sk-size', input: 'float_input', features: ['lines_added', 'files_changed'], output: 'output_probability', threshold: 0.1 }));
    await page.getByTestId('onnx-add').click();
    await page.getByTestId('onnx-added').waitFor();
    expect(await page.getByTestId('onnx-added').textContent()).toMatch(/Added sk-size v1 — ZipMap output/);

    // A manifest that names a feature the workspace lacks is refused with the list of what exists.
    await page.getByTestId('onnx-manifest').fill(JSON.stringify({ name: 'bad', input: 'float_input', features: ['lines_added', 'coverage'], output: 'output_probability' }));
    await page.getByTestId('onnx-add').click();
    // Said beside the button that was pressed, not in the banner at the top of the page.
    await page.getByTestId('onnx-problem').waitFor();
    expect(await page.getByTestId('onnx-problem').textContent()).toMatch(/^Not added: .*no feature coverage\. Available: .*lines_added/);
    expect(await page.getByTestId('onnx-added').count()).toBe(0);
    expect(await page.locator('.banner.error').count()).toBe(0);
    // risk-lr, rules, sk-size and the demo's own demo-gbdt and demo-shuffled; the refused one is not there.
    expect(await page.getByTestId('models-table').locator('tbody tr').count()).toBe(5);
  });

  it('runs the models in shadow, with progress, and opens the scorecards', async () => {
    await page.getByTestId('nav-runs').click();
    for (const box of await page.getByTestId('run-models').locator('input[type=checkbox]').all()) await box.check();
    // The range starts after every chosen model's training cutoff; moved earlier, the form says which
    // models would be scored on changes they were trained on.
    const from = page.getByLabel('From');
    const clean = await from.inputValue();
    expect(await page.getByTestId('run-training-overlap').count()).toBe(0);
    await from.fill('2026-10-23');
    expect(await page.getByTestId('run-training-overlap').textContent()).toMatch(/demo-gbdt v1 was trained on changes before 2026-10-23 09:30.*Start on or after/);
    await from.fill(clean);
    expect(await page.getByTestId('run-training-overlap').count()).toBe(0);
    await page.getByTestId('run-start').click();
    await page.getByTestId('scorecard-risk-lr').waitFor({ timeout: 60_000 });
    // The demo has incidents without a postmortem cause; every card says what that does to its numbers.
    expect(await page.getByTestId('scorecard-risk-lr').getByTestId('incidents-without-cause').textContent()).toMatch(/^\d+ incidents in this period have no postmortem cause: whichever changes caused them count as good here/);
    for (const name of ['risk-lr', 'rules', 'sk-size', 'demo-gbdt']) {
      const auc = await page.getByTestId(`scorecard-${name}`).locator('[data-metric=auc_roc]').textContent();
      expect(Number(auc)).toBeGreaterThan(0.4);
    }
    await page.getByTestId('roc-chart').locator('canvas').waitFor();
    // Each chart describes itself to a screen reader (echarts' aria): the series it draws, by name.
    const described = await page.evaluate(() => {
      const el = document.querySelector('[data-testid=roc-chart]');
      return el?.getAttribute('aria-label') ?? el?.querySelector('[aria-label]')?.getAttribute('aria-label') ?? '';
    });
    expect(described).toContain('risk-lr');
    // Run after every training cutoff: no card carries the training-data warning.
    expect(await page.getByTestId('training-overlap').count()).toBe(0);
    // Hovering shows tooltips drawn on the canvas: an HTML tooltip's inline styles break the CSP
    // (the last test counts console errors).
    for (const chart of ['roc-chart', 'pr-chart', 'reliability-chart', 'sweep-chart']) {
      const canvas = page.getByTestId(chart).locator('canvas');
      const box = (await canvas.boundingBox())!;
      for (const [fx, fy] of [[0.3, 0.5], [0.5, 0.2], [0.7, 0.3]] as const) {
        await canvas.hover({ position: { x: box.width * fx, y: box.height * fy } });
        await page.waitForTimeout(150);
      }
    }
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshotPath('results.png'), fullPage: true });
  });

  it('updates the numbers at once when the threshold slider moves', async () => {
    const card = page.getByTestId('scorecard-risk-lr');
    const before = await card.locator('[data-metric=recall]').textContent();
    await card.getByTestId('threshold-risk-lr').fill('0.3');
    await page.waitForFunction((b) => document.querySelector('[data-testid=scorecard-risk-lr] [data-metric=recall]')?.textContent !== b, before);
    expect(Number(await card.locator('[data-metric=recall]').textContent())).toBeLessThan(Number(before));
  });

  it('opens a held-back change with its explanation, mitigations and what really happened', async () => {
    await page.getByTestId('scorecard-risk-lr').click();
    await page.getByTestId('gated-table').locator('.vrow').first().click();
    const drawer = page.getByTestId('suggestion-drawer');
    await drawer.waitFor();
    expect(Number(await drawer.getByTestId('drawer-score').textContent())).toBeGreaterThanOrEqual(0.3);
    await drawer.getByTestId('explanation-chart').locator('canvas').waitFor();
    expect(await drawer.textContent()).toMatch(/Exact Shapley values \(every combination of features scored\)/);
    expect(await drawer.textContent()).toMatch(/incident|rolled back|nothing/);
    // Feedback given here sits beside the suggestion (and goes to the audit log and the report).
    await drawer.getByTestId('feedback-disagree').check();
    await drawer.getByTestId('feedback-reason').fill('a config flag, rolled out behind a kill switch');
    // The demo's riskiest change caused an incident: "should have gone through" contradicts that, and
    // would become its training label, so it is asked twice.
    expect(await drawer.getByTestId('feedback-contradicts').textContent()).toMatch(/^This change caused INC-\d+; this feedback says it should have been let through/);
    expect(await drawer.getByTestId('feedback-submit').isDisabled()).toBe(true);
    await drawer.getByTestId('feedback-contradicts').locator('input').check();
    await drawer.getByTestId('feedback-submit').click();
    await drawer.getByTestId('feedback-list').waitFor();
    expect(await drawer.getByTestId('feedback-list').textContent()).toMatch(/disagree — a config flag, rolled out behind a kill switch/);
    await page.screenshot({ path: screenshotPath('suggestion.png') });
    // By keyboard: Escape closes the drawer and gives focus back; a focused row opens with Enter,
    // and focus moves into the drawer.
    await drawer.locator('h2').click();
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    const second = page.getByTestId('gated-table').locator('.vrow').nth(1);
    await second.focus();
    await page.keyboard.press('Enter');
    await drawer.waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('suggestion-drawer');
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-rowindex'))).toBe('3');
    // The other views of the table: the incidents it would have let through, and its false alarms.
    await page.getByTestId('view-missed').check();
    const table = page.getByTestId('gated-table');
    await page.waitForFunction(() => document.querySelector('[data-testid=gated-table]')?.closest('section')?.querySelector('h2')?.textContent?.startsWith('Incident-causing changes risk-lr would have let through'));
    await table.locator('.vrow').first().waitFor();
    const threshold = Number(await page.getByTestId('threshold-risk-lr').inputValue());
    const missed = await table.locator('.vrow').evaluateAll((rows) => rows.map((r) => [r.children[0]?.textContent ?? '', r.children[4]?.textContent ?? '']));
    expect(missed.length).toBeGreaterThan(0);
    for (const [risk, outcome] of missed) {
      expect(outcome).toMatch(/^incident/);
      if (risk !== '—') expect(Number(risk)).toBeLessThan(threshold);
    }
    await page.screenshot({ path: screenshotPath('missed-incidents.png') });
    await page.getByTestId('view-false-alarms').check();
    await page.waitForFunction(() => document.querySelector('[data-testid=gated-table]')?.closest('section')?.querySelector('h2')?.textContent?.startsWith('Good changes risk-lr would have held back'));
    await table.locator('.vrow').first().waitFor();
    const alarms = await table.locator('.vrow').evaluateAll((rows) => rows.map((r) => r.children[4]?.textContent ?? ''));
    expect(alarms.every((o) => !o.startsWith('incident'))).toBe(true);
    await page.getByTestId('view-held').check();
    // The refused manifest above answered 422 on purpose; anything else is a fault.
    const unexpected = problems.filter((p) => !/status of 422/.test(p));
    expect(unexpected, unexpected.join('\n')).toEqual([]);
  });

  it('colours the change markers on the timeline by a run\'s risk', async () => {
    await page.keyboard.press('Escape');
    await page.getByTestId('nav-explore').click();
    await page.getByTestId('service-checkout').click();
    const source = page.getByTestId('risk-source');
    await source.waitFor();
    const option = (await source.locator('option').allTextContents()).find((t) => t.includes('risk-lr'))!;
    await source.selectOption({ label: option });
    await page.getByText('would be held back').waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(500);
    await page.screenshot({ path: screenshotPath('timeline-risk.png') });
  });

  it('compares a challenger with the champion and judges it by a gate, live', async () => {
    await page.getByTestId('nav-compare').click();
    const champion = page.getByTestId('compare-champion');
    await champion.selectOption({ label: (await champion.locator('option').allTextContents()).find((t) => t.startsWith('rules'))! });
    // Making a champion is asked twice, with a reason; no gate has judged it from here, which is said.
    await page.getByTestId('make-champion').click();
    expect(await page.getByTestId('make-champion-warning').textContent()).toMatch(/No gate has judged it here/);
    expect(await page.getByTestId('make-champion-confirm').isDisabled()).toBe(true);
    await page.getByTestId('make-champion-reason').fill('the rules we run today');
    await page.getByTestId('make-champion-confirm').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=compare-champion]')?.textContent?.includes('(workspace champion)'));
    const challenger = page.getByTestId('compare-challenger');
    await challenger.selectOption({ label: (await challenger.locator('option').allTextContents()).find((t) => t.startsWith('demo-gbdt'))! });
    await page.getByTestId('compare-start').click();
    await page.getByTestId('comparison').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('comparison').locator('tr', { hasText: 'auc_roc' }).first().textContent()).toMatch(/better/);
    expect(await page.getByTestId('disagreements').locator('tbody tr').count()).toBeGreaterThan(0);
    // The advisory preset is loaded; its verdict follows the editor.
    await page.waitForFunction(() => document.querySelector('[data-testid=gate-verdict]')?.textContent === 'PASS', undefined, { timeout: 30_000 });
    await challenger.selectOption({ label: (await challenger.locator('option').allTextContents()).find((t) => t.startsWith('demo-shuffled'))! });
    await page.waitForFunction(() => document.querySelector('[data-testid=gate-verdict]')?.textContent === 'FAIL', undefined, { timeout: 30_000 });
    expect(await page.getByTestId('gate-result').textContent()).toMatch(/fail — auc_roc >= 0\.65: auc_roc 0\.\d+ \[/);
    // Promoting a model the gate fails says so before the second click.
    await page.getByTestId('promote-challenger').click();
    expect(await page.getByTestId('promote-challenger-warning').textContent()).toBe('The gate “advisory mode” says FAIL for it.');
    await page.getByRole('group', { name: /Make demo-shuffled v1 the champion/ }).getByRole('button', { name: 'Cancel' }).click();
    await page.screenshot({ path: screenshotPath('compare.png'), fullPage: true });
    // A typo in the spec says where, instead of a verdict.
    const spec = page.getByTestId('gate-spec');
    const text = await spec.inputValue();
    await spec.fill(text.replace('">="', '"=>"'));
    await page.getByTestId('gate-error').waitFor();
    expect(await page.getByTestId('gate-error').textContent()).toMatch(/criteria\.0: op/);
    await spec.fill(text);
    await page.getByTestId('gate-save').click();
    await page.getByTestId('gate-saved').waitFor();
    expect(await page.getByTestId('gate-saved').textContent()).toBe('Saved advisory mode v1');
    // The gate judges against the champion picked on this page, not only the workspace's.
    expect(await page.locator('h2', { hasText: 'Gate' }).textContent()).toMatch(/judging demo-shuffled v1 against rules v1/);
    await champion.selectOption({ label: (await champion.locator('option').allTextContents()).find((t) => t.startsWith('risk-lr'))! });
    await page.waitForFunction(() => /against risk-lr v1/.test(Array.from(document.querySelectorAll('h2')).find((h) => h.textContent?.startsWith('Gate'))?.textContent ?? ''));
    await page.waitForFunction(() => /the champion/.test(document.querySelector('[data-testid=gate-result]')?.textContent ?? ''));
  });

  it('exports an HTML report that opens with no network requests and draws its charts', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-html').click()]);
    const file = path.join(tempDir(), download.suggestedFilename());
    await download.saveAs(file);
    const viewer = await app.browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    viewer.on('request', (r) => requests.push(r.url()));
    await viewer.goto(`file://${file}`);
    expect(requests).toEqual([`file://${file}`]);
    expect(await viewer.locator('svg').count()).toBeGreaterThanOrEqual(3);
    // Charts that drew: the ROC curve has paths, not just an empty frame.
    expect(await viewer.locator('svg').first().locator('path').count()).toBeGreaterThan(5);
    expect(await viewer.locator('h1').textContent()).toMatch(/Shadowbench report — change-risk run \d+/);
    expect(await viewer.locator('tr', { hasText: 'human feedback' }).textContent()).toMatch(/1 \(0 agree, 1 disagree, 0 override\)/);
    await viewer.screenshot({ path: screenshotPath('report.png') });
    await viewer.close();
    const [md] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-md').click()]);
    const mdFile = path.join(tempDir(), md.suggestedFilename());
    await md.saveAs(mdFile);
    // The report is of what the page shows: the champion picked there (risk-lr, not the
    // workspace's rules) and the verdict of the gate in the editor.
    const markdown = fs.readFileSync(mdFile, 'utf8');
    expect(markdown).toMatch(/^\| metric \| .*risk-lr v1 \(champion\)/m);
    const shown = await page.getByTestId('gate-verdict').textContent();
    expect(markdown).toContain(`**demo-shuffled v1**: gate “advisory mode” → **${shown}**`);
  });

  it('lists every action in the audit log, the feedback included, and verifies the chain', async () => {
    // Results says which model is the champion (made so on Compare) and which are challengers.
    await page.getByTestId('nav-results').click();
    await page.getByTestId('card-role-rules').waitFor();
    expect([await page.getByTestId('card-role-rules').textContent(), await page.getByTestId('card-role-demo-gbdt').textContent()]).toEqual(['champion', 'challenger']);
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-table').locator('.vrow').first().waitFor();
    await page.getByTestId('audit-action').selectOption('feedback.');
    await page.waitForFunction(() => document.querySelector('[data-testid=audit-table]')?.getAttribute('data-total') === '1');
    expect(await page.getByTestId('audit-table').locator('.vrow').first().textContent()).toMatch(/feedback\.add.*kill switch/);
    // The gate editor's live verdicts (one per pause in typing) are previews, not decisions: only the saved gate is logged.
    await page.getByTestId('audit-action').selectOption('gate.');
    // data-total is 1 for both filters: wait for the table to show the new one's row.
    await page.waitForFunction(() => document.querySelector('[data-testid=audit-table] .vrow')?.textContent?.includes('gate.save') === true);
    expect(await page.getByTestId('audit-table').getAttribute('data-total')).toBe('1');
    await page.getByTestId('audit-action').selectOption('');
    await page.getByTestId('audit-verify').click();
    await page.getByTestId('audit-verification').waitFor();
    expect(await page.getByTestId('audit-verification').textContent()).toMatch(/^Intact: \d+ entries; head #\d+ [0-9a-f]{64}$/);
    await page.screenshot({ path: screenshotPath('audit.png') });
  });

  it('retrains a baseline in-app and opens the comparison of the two versions, with intervals', async () => {
    await page.getByTestId('nav-models').click();
    await page.getByTestId('retrain-risk-lr-v1').click();
    await page.getByTestId('comparison').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('comparison').locator('h2').textContent()).toBe('risk-lr v2 vs risk-lr v1');
    const auc = await page.getByTestId('comparison').locator('tr', { hasText: 'auc_roc' }).first().textContent();
    expect(auc).toMatch(/-?0\.\d{3} \[-?0\.\d{3}, -?0\.\d{3}\]/);
    await page.screenshot({ path: screenshotPath('retrain.png'), fullPage: false });
    await page.getByTestId('nav-models').click();
    await page.getByTestId('role-risk-lr-v2').waitFor();
    expect(await page.getByTestId('role-rules-v1').textContent()).toBe('champion');
  });
});
