import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, screenshotPath, type OpenApp } from '../helpers/browser.js';

let app: OpenApp;
let page: Page;

beforeAll(async () => {
  app = await openApp();
  ({ page } = app);
  await page.getByTestId('open-demo').click();
  await page.getByTestId('timeline').waitFor({ timeout: 90_000 });
  // A baseline to fall back on, and a run of the shipped ONNX model beside it.
  await page.getByTestId('nav-models').click();
  await page.getByTestId('train-name').fill('rules');
  await page.getByTestId('train-kind').selectOption('heuristic');
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-done').waitFor();
  await page.getByTestId('nav-runs').click();
  for (const box of await page.getByTestId('run-models').locator('input[type=checkbox]').all()) await box.check();
  await page.getByTestId('run-start').click();
  await page.getByTestId('scorecard-rules').waitFor({ timeout: 60_000 });
}, 180_000);

afterAll(() => app?.close());

describe('drills in the browser', () => {
  it('defines a drill (a 3σ shift and 20 % model failures with the rules as fallback), runs it and reads its report', async () => {
    await page.getByTestId('nav-drills').click();
    const spec = page.getByTestId('drill-spec');
    await spec.waitFor();
    // The starting spec shifts the first model's first feature by 3σ; add failures and a fallback.
    expect(await spec.inputValue()).toMatch(/"kind": "drift"/);
    await page.getByTestId('drill-kind').selectOption('failure');
    await page.getByTestId('drill-add').click();
    const rules = await page.getByTestId('drill-fallback').locator('option', { hasText: 'rules' }).getAttribute('value');
    await page.getByTestId('drill-fallback').selectOption(rules!);
    const edited = JSON.parse(await spec.inputValue()) as { perturbations: Array<{ kind: string; share: number }>; runner: { fallback: number } };
    expect(edited.perturbations.map((p) => p.kind)).toEqual(['drift', 'failure']);
    // The form says what the spec holds, one badge per fault.
    expect(await page.getByTestId('drill-faults').locator('.badge').allTextContents()).toEqual([expect.stringMatching(/^drift 3σ of \S+ on 100 %/), expect.stringMatching(/^failure on 20 %/)]);
    expect(edited.runner.fallback).toBe(Number(rules));
    // Hand edits count: name it.
    await spec.fill(JSON.stringify({ ...edited, name: 'shift and failures' }, null, 2));
    await page.getByTestId('drill-save').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=drill-note]')?.textContent?.includes('v1'));
    await page.getByTestId('drill-run').click();
    const report = page.getByTestId('drill-report');
    await report.waitFor({ timeout: 60_000 });
    const text = (await page.getByTestId('drill-summary').textContent())!;
    expect(text).toMatch(/rows failed; the fallback answered \d+, 0 got no suggestion; 0 reached the output unhandled/);
    expect(text).toMatch(/drift flag RAISED/);
    expect(text).not.toContain('-0.000');
    for (const cell of await report.getByTestId('drill-unhandled').all()) expect(await cell.textContent()).toBe('0');
    expect(await report.getByTestId('drill-deltas').first().locator('tbody tr').count()).toBeGreaterThan(10);
    // The base column is the base run on the drill's rows (not its whole scorecard), and says so; no "-0.000".
    expect(await report.getByTestId('drill-deltas').first().locator('thead th').nth(1).textContent()).toMatch(/^Base \(same \d+ changes\)$/);
    expect(await report.getByTestId('drill-deltas').first().textContent()).not.toContain('-0.000');
    expect(await report.getByTestId('drill-drift').first().textContent()).toMatch(/drift/);
    expect(await page.getByTestId('drill-results').locator('tbody tr').count()).toBe(1);
    await page.screenshot({ path: screenshotPath('drills.png'), fullPage: true });
    // The drill's run is labelled as one wherever runs are listed, and Results still opens the real run.
    await page.getByTestId('nav-runs').click();
    expect(await page.getByTestId('run-drill').first().textContent()).toMatch(/^drill “shift and failures” of run 1$/);
    await page.getByTestId('nav-results').click();
    await page.getByTestId('scorecard-rules').waitFor();
    expect(await page.locator('.page h2').first().textContent()).toBe('Run 1');
    expect(await page.getByLabel('Run').locator('option').allTextContents()).toContainEqual(expect.stringMatching(/^run 2 \(drill “shift and failures” of run 1\) · /));
    // Compare too opens the real run; picked by hand, a drill says its verdict is not the model's.
    await page.getByTestId('nav-compare').click();
    expect(await page.getByTestId('compare-run').inputValue()).toBe('1');
    expect(await page.getByTestId('compare-drill').count()).toBe(0);
    await page.getByTestId('compare-run').selectOption('2');
    expect(await page.getByTestId('compare-drill').textContent()).toMatch(/^Run 2 is a drill of run 1 \(“shift and failures”\): its numbers were made with faults injected on purpose/);
    await page.getByTestId('nav-drills').click();
  });

  it('says what is wrong with a spec before anything runs', async () => {
    await page.getByTestId('drill-spec').fill('{"name": "x", "baseRun": 1, "perturbations": [{"kind": "failure", "share": 2}]}');
    await page.getByTestId('drill-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=drill-note]')?.textContent?.includes('perturbations.0.share'));
    expect(await page.getByTestId('drill-note').textContent()).toMatch(/perturbations\.0\.share \(failure\)/);
    await page.getByTestId('drill-spec').fill('{"name": ');
    expect(await page.getByTestId('drill-json-error').textContent()).toMatch(/not JSON/);
    expect(await page.getByTestId('drill-results').locator('tbody tr').count()).toBe(1);
  });
  it('drills a detection run: 20 % detector failures answered by the imported alerts, report read in steps', async () => {
    await page.getByTestId('nav-detection').click();
    await page.getByTestId('detection-start').click();
    await page.getByTestId('detection-scorecards').waitFor({ timeout: 120_000 });
    await page.getByTestId('nav-drills').click();
    await page.getByTestId('drill-task').selectOption('detection');
    const spec = page.getByTestId('drill-spec');
    const starter = JSON.parse(await spec.inputValue()) as { task: string; baseRun: number; runner: { fallback: string } };
    expect(starter.task).toBe('detection');
    expect(starter.runner.fallback).toBe('static-alerts');
    expect(await page.getByTestId('drill-base').locator('option:checked').textContent()).toMatch(/^detection run \d+ · /);
    await page.getByTestId('drill-kind').selectOption('failure');
    await page.getByTestId('drill-add').click();
    const edited = JSON.parse(await spec.inputValue()) as Record<string, unknown>;
    // Only the failures: the starter's 3σ shift stays out of this one.
    await spec.fill(JSON.stringify({ ...edited, name: 'detector outage', perturbations: [{ kind: 'failure', share: 0.2 }] }, null, 2));
    await page.getByTestId('drill-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=drill-report] h2')?.textContent?.includes('detector outage'), undefined, { timeout: 90_000 });
    const text = (await page.getByTestId('drill-summary').textContent())!;
    expect(text).toMatch(/steps failed; the fallback answered \d+, 0 got no answer; 0 reached the output unhandled/);
    const report = page.getByTestId('drill-report');
    for (const cell of await report.getByTestId('drill-unhandled').all()) expect(await cell.textContent()).toBe('0');
    expect(await report.getByTestId('drill-deltas').first().locator('tbody tr td:first-child').allTextContents()).toEqual(['incident_recall', 'time_to_know_min', 'false_alerts_per_day']);
    expect(await report.textContent()).toMatch(/time steps scored/);
    expect(await page.getByTestId('drill-results').locator('tbody tr').filter({ hasText: 'detection' }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath('drills-detection.png'), fullPage: true });
    // The drill's run is an ordinary detection run, labelled as a drill; the page still opens the real one.
    await page.getByTestId('nav-detection').click();
    await page.getByTestId('detection-scorecards').waitFor();
    expect(await page.getByTestId('detection-run-select').locator('option').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^detection run \d+ · drill "detector outage" of detection run \d+ · /)]));
    expect(await page.getByTestId('detection-run-select').locator('option:checked').textContent()).not.toMatch(/drill/);
    // Choosing the drill's run shows the choice at once, and its scorecards once they are scored.
    const drillOption = (await page.getByTestId('detection-run-select').locator('option').allTextContents()).find((t) => / · drill "detector outage"/.test(t))!;
    await page.getByTestId('detection-run-select').selectOption({ label: drillOption });
    expect(await page.getByTestId('detection-run-select').locator('option:checked').textContent()).toBe(drillOption);
    await page.waitForFunction(() => /\(drill "detector outage" of detection run \d+/.test(document.querySelector('[data-testid=detection-scorecards]')?.closest('section')?.querySelector('h2')?.textContent ?? ''));
    expect(await page.getByTestId('detection-opening').count()).toBe(0);
  });
});
