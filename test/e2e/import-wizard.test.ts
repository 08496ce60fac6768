import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, screenshotPath, type OpenApp } from '../helpers/browser.js';

let app: OpenApp;
let page: Page;

// A query_range answer as Prometheus gives it: the instance is the useful service here.
const PROMETHEUS = JSON.stringify({
  status: 'success',
  data: {
    resultType: 'matrix',
    result: [
      { metric: { __name__: 'http_requests_in_flight', job: 'node', instance: 'checkout:9100' }, values: [[1767600000, '4'], [1767600060, '6'], [1767600120, '5']] },
      { metric: { __name__: 'http_requests_in_flight', job: 'node', instance: 'search:9100' }, values: [[1767600000, '2'], [1767600060, '3'], [1767600120, 'NaN']] },
    ],
  },
});

beforeAll(async () => {
  app = await openApp();
  ({ page } = app);
  await page.getByTestId('open-demo').click();
  await page.getByTestId('timeline').waitFor({ timeout: 90_000 });
}, 120_000);

afterAll(() => app?.close());

describe('the import wizard', () => {
  it('recognises a dropped Prometheus file, takes a changed mapping, dry-runs and imports it', async () => {
    await page.getByTestId('nav-data').click();
    // Drop it the way a browser does: a DataTransfer with a File, on the drop zone.
    await page.getByTestId('dropzone').evaluate((zone, text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], 'in-flight.json', { type: 'application/json' }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, PROMETHEUS);
    const detected = page.getByTestId('import-detected');
    await detected.waitFor();
    expect(await detected.textContent()).toMatch(/Prometheus API JSON holding telemetry/);
    // By default the service is the job ("node"); the instance is the better choice.
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('node'));
    // The preview follows the choice by itself: no "Apply and preview" needed. (The instance is a
    // label until then, so look at the service column itself.)
    const serviceCell = (): Promise<string | null> => page.getByTestId('import-preview').locator('tbody tr').first().locator('td').nth(2).textContent();
    expect(await serviceCell()).toBe('node');
    await page.getByTestId('import-service-label').selectOption('instance');
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody tr td:nth-child(3)')?.textContent === 'checkout:9100');
    expect(await page.getByTestId('import-preview').locator('tbody tr').first().textContent()).toContain('{"job":"node"}');
    expect(await page.getByTestId('import-preview').locator('tbody tr').count()).toBe(5);
    await page.getByTestId('import-dry-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-dry-result]')?.textContent?.includes('5 rows would be imported, 1 sample without a number'));
    await page.screenshot({ path: screenshotPath('import-wizard.png'), fullPage: true });
    await page.getByTestId('mapping-name').fill('prom-by-instance');
    await page.getByTestId('mapping-save').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-note]')?.textContent?.includes('Saved mapping prom-by-instance v1'));
    await page.getByTestId('import-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('5 rows imported'));
    // The dry run's verdict belonged to the options before the import; the import's report replaces it.
    expect(await page.getByTestId('import-dry-result').count()).toBe(0);
    // Prometheus' "NaN" sample is a gap, counted where the report says what happened.
    expect(await page.getByTestId('import-gaps').textContent()).toBe('1');
    await page.getByTestId('sources').getByText('in-flight.json').waitFor();
    expect(await page.getByTestId('sources').locator('tr', { hasText: 'in-flight.json' }).locator('td').nth(3).textContent()).toBe('5');
    await page.getByTestId('nav-explore').click();
    await page.getByText('checkout:9100').first().waitFor();
  });

  it('keeps the production deployments of a GitHub export that also holds staging ones', async () => {
    await page.getByTestId('nav-data').click();
    const deploy = (id: number, environment: string) => ({ url: `https://api.github.com/repos/acme/storefront/deployments/${id}`, id, sha: `e${id}`, ref: 'main', environment, created_at: `2026-10-0${id}T08:00:00Z`, creator: { login: 'release-bot' }, repository_url: 'https://api.github.com/repos/acme/storefront' });
    const text = JSON.stringify([deploy(1, 'production'), deploy(2, 'staging'), deploy(3, 'staging'), deploy(4, 'production'), deploy(5, 'staging')]);
    await page.getByTestId('import-file').setInputFiles({ name: 'storefront-deployments.json', mimeType: 'application/json', buffer: Buffer.from(text) });
    await page.getByTestId('import-environment').waitFor();
    // Left as it is, the dry run says both environments would become changes of one service.
    await page.getByTestId('import-dry-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-dry-result]')?.textContent?.includes('deployments to 2 environments (staging 3, production 2)'));
    await page.getByTestId('import-environment').fill('production');
    await page.getByTestId('import-dry-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-dry-result]')?.textContent?.includes('2 rows would be imported, 3 deployments to other environments left out (staging 3)'));
    await page.getByTestId('import-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('storefront-deployments.json: 2 rows imported, 3 deployments to other environments left out'));
    expect(await page.getByTestId('import-report').getByTestId('import-environments').textContent()).toBe('production 2 · staging 3');
    await page.screenshot({ path: screenshotPath('import-github-imported.png'), fullPage: true });
  });

  it('shows which incidents a newer export gives with other values than the ones stored', async () => {
    await page.getByTestId('nav-data').click();
    // The demo's INC-1001, exported again after someone retitled it and corrected its resolution time, and one new incident.
    const csv = 'id,service,severity,started_at,detected_at,mitigated_at,resolved_at,cause_change_id,title\n' +
      'INC-1001,payments,SEV3,2026-09-01T10:12:44Z,2026-09-01T10:36:00Z,2026-09-01T10:58:44Z,2026-09-01T11:40:00Z,chg-00003,Payments p99 latency (card processor)\n' +
      'INC-9001,cart,SEV4,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,,2026-10-01T09:30:00Z,,Cart 5xx blip\n';
    await page.getByTestId('import-file').setInputFiles({ name: 'incidents-october.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-preview').waitFor();
    await page.getByTestId('import-kind').selectOption('incidents');
    await page.getByTestId('import-recheck').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('INC-9001'));
    await page.getByTestId('import-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('incidents-october.csv: 1 row imported, 1 already present'));
    expect(await page.getByTestId('import-conflicting').textContent()).toBe('1');
    expect(await page.getByTestId('import-conflicts').locator('tbody tr').first().locator('td').allTextContents()).toEqual(['incident INC-1001', 'resolved, title', expect.stringMatching(/^source #\d+$/)]);
    // Asked to take the file's values, the same file updates the stored incident instead of being "already imported".
    await page.getByTestId('import-file').setInputFiles({ name: 'incidents-october.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    // The first import's report goes with the new choice; the preview that follows is the new upload's.
    await page.getByTestId('import-report').first().waitFor({ state: 'detached' });
    await page.getByTestId('import-preview').waitFor();
    await page.getByTestId('import-kind').selectOption('incidents');
    await page.getByTestId('import-update-existing').check();
    await page.getByTestId('import-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('1 stored row updated to its values'));
    expect(await page.getByTestId('import-conflicts').locator('thead th').first().textContent()).toBe('Already stored, updated');
    await page.screenshot({ path: screenshotPath('import-conflicts.png'), fullPage: true });
  });

  it('reads a spreadsheet\'s day-month times once their format and zone are given', async () => {
    await page.getByTestId('nav-data').click();
    const csv = 'id,service,severity,started_at,resolved_at,title\nINC-7001,cart,SEV3,26.10.2026 01:30,26.10.2026 02:10,Checkout errors\n';
    await page.getByTestId('import-file').setInputFiles({ name: 'incidents-de.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-preview').waitFor();
    // The previous file's import report is not this file's: it goes.
    expect(await page.getByTestId('import-report').count()).toBe(0);
    await page.getByTestId('import-kind').selectOption('incidents');
    // The last file's "update stored rows" was for that file only.
    expect(await page.getByTestId('import-update-existing').isChecked()).toBe(false);
    // Unstated, the preview says what the dates need rather than guessing day from month.
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview]')?.textContent?.includes('need their format stated'));
    await page.getByTestId('import-time-format').fill('dd.MM.yyyy HH:mm');
    await page.getByTestId('import-tz').fill('Europe/Berlin');
    // Read again once typing pauses.
    // 26 October 2026 is the day after Berlin leaves summer time: 01:30 is CET, UTC+1.
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('2026-10-26T00:30:00.000Z'));
    expect(await page.getByTestId('import-preview').locator('tbody tr').first().textContent()).toContain('2026-10-26T01:10:00.000Z');
    await page.screenshot({ path: screenshotPath('import-time-format.png'), fullPage: true });
    // "None" for a field the header filled stays none: the column is not matched to it again on the way in.
    await page.getByTestId('map-title').selectOption('');
    await page.getByTestId('import-recheck').click();
    await page.waitForFunction(() => !(document.querySelector('[data-testid=import-preview] tbody')?.textContent ?? 'Checkout errors').includes('Checkout errors'));
    expect(await page.getByTestId('map-title').inputValue()).toBe('');
    await page.getByTestId('import-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('incidents-de.csv: 1 row imported'));
    // The next file keeps the zone and the time format (one system's exports share them), and says
    // so beside each until it is edited; the settings left at their defaults say nothing.
    expect(await page.locator('[data-testid^=import-carried-]').count()).toBe(0);
    await page.getByTestId('import-file').setInputFiles({ name: 'incidents-de-2.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-carried-timeZone').waitFor();
    expect(await page.getByTestId('import-tz').inputValue()).toBe('Europe/Berlin');
    expect(await page.getByTestId('import-time-format').inputValue()).toBe('dd.MM.yyyy HH:mm');
    expect((await page.locator('[data-testid^=import-carried-]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')))).sort()).toEqual(['import-carried-timeFormat', 'import-carried-timeZone']);
    // The first look at it already reads with them: Berlin's 01:30 as stored, not "state the format".
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('2026-10-26T00:30:00.000Z'));
    expect(await page.getByTestId('import-preview').textContent()).not.toContain('need their format stated');
    await page.screenshot({ path: screenshotPath('import-carried.png'), fullPage: true });
    await page.getByTestId('import-tz').fill('UTC');
    expect(await page.getByTestId('import-carried-timeZone').count()).toBe(0);
    // Editing one setting clears its own mark only.
    expect(await page.getByTestId('import-carried-timeFormat').count()).toBe(1);
    // The look at the file in UTC ends here, not during the next test (a dry run holds the workspace while it reads).
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('2026-10-26T01:30:00.000Z'));
    await page.waitForFunction(() => document.querySelector('[data-testid=import-recheck]')?.textContent === 'Apply and preview');
  });

  it('undoes an import of incidents after asking, and says why a telemetry import cannot be', async () => {
    await page.getByTestId('nav-data').click();
    const sources = page.getByTestId('sources');
    // The list refreshes after the last import's report shows: count once that import is in it.
    await sources.locator('tr', { hasText: 'incidents-de.csv' }).waitFor();
    const before = await sources.locator('tbody tr').count();
    await sources.locator('tr', { hasText: 'in-flight.json' }).click();
    expect(await page.getByTestId('source-undo').textContent()).toContain('A telemetry import cannot be undone here');
    expect(await page.getByTestId('source-delete').count()).toBe(0);
    // Enter opens a source as a click does.
    await sources.locator('tr', { hasText: 'incidents-de.csv' }).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('source-delete').click();
    await page.getByTestId('source-delete-confirm').waitFor();
    await page.screenshot({ path: screenshotPath('import-undo.png'), fullPage: true });
    await page.getByTestId('source-delete-confirm').click();
    // Done, or refused: a refusal's own words fail the test, not a timeout.
    await page.waitForFunction(() => document.querySelector('[data-testid=source-deleted]') || document.querySelector('[data-testid=source-delete-error]'));
    expect(await page.getByTestId('source-delete-error').count() ? await page.getByTestId('source-delete-error').textContent() : null).toBeNull();
    await page.waitForFunction(() => document.querySelector('[data-testid=source-deleted]')?.textContent?.includes('1 incident removed'));
    expect(await sources.locator('tbody tr').count()).toBe(before - 1);
    expect(await sources.locator('tr', { hasText: 'incidents-de.csv' }).count()).toBe(0);
  });

  it('says what a file is when it is not a text export, and offers nothing to map', async () => {
    await page.getByTestId('nav-data').click();
    const workbook = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(600, 7)]);
    await page.getByTestId('import-file').setInputFiles({ name: 'deploys.xlsx', mimeType: 'application/octet-stream', buffer: workbook });
    await page.getByTestId('import-not-text').waitFor();
    expect(await page.getByTestId('import-not-text').textContent()).toBe('deploys.xlsx: this is a ZIP archive, not a text export (CSV, NDJSON or JSON); an Excel .xlsx workbook is one: save the sheet as CSV and import that');
    expect(await page.getByTestId('import-detected').count()).toBe(0);
    expect(await page.getByTestId('import-mapping').count()).toBe(0);
    expect(await page.getByTestId('pii-preview').count()).toBe(0);
  });

  it('takes a ServiceNow export\'s priority as the severity and says its severity column could also be it', async () => {
    await page.getByTestId('nav-data').click();
    const csv = '"number","opened_at","short_description","priority","severity","urgency","business_service"\r\n"INC0010001","2024-04-02 09:15:22","Checkout page returns 502","1 - Critical","3 - Low","1 - High","Checkout"\r\n';
    await page.getByTestId('import-file').setInputFiles({ name: 'servicenow.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-preview').waitFor();
    await page.getByTestId('import-kind').selectOption('incidents');
    const note = page.getByTestId('map-alternative-severity');
    await note.waitFor();
    expect(await note.textContent()).toBe('Chosen by its name; “severity”, “urgency” could also be it.');
    expect(await page.getByTestId('map-severity').inputValue()).toBe('priority');
    await page.getByTestId('import-tz').fill('Europe/Berlin');
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('INC0010001'));
    // One column may feed two fields: opened_at is also when humans were told.
    await page.getByTestId('map-detected').selectOption('opened_at');
    await page.waitForFunction(() => (document.querySelector('[data-testid=import-preview] tbody')?.textContent?.match(/2024-04-02T07:15:22.000Z/g) ?? []).length === 2);
    expect(await page.getByTestId('map-started').inputValue()).toBe('opened_at');
    // Another field's choice does not settle this one: the note stays.
    expect(await note.textContent()).toBe('Chosen by its name; “severity”, “urgency” could also be it.');
    await page.screenshot({ path: screenshotPath('import-alternatives.png'), fullPage: true });
    // Chosen by the user, the field has no rivals to point out.
    await page.getByTestId('map-severity').selectOption('severity');
    await note.waitFor({ state: 'detached' });
  });

  it('reads a wide CSV whose time column has another name once it is chosen as the time column', async () => {
    await page.getByTestId('nav-data').click();
    // A German Grafana export: "Zeit" is nobody's time synonym, so the file is first taken as long CSV.
    const csv = 'Zeit;kasse/latenz_p99;kasse/fehler\n2026-11-04T09:00:00Z;1,5;2\n2026-11-04T09:01:00Z;1,75;0\n';
    await page.getByTestId('import-file').setInputFiles({ name: 'kasse.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-preview').waitFor();
    await page.getByTestId('import-kind').selectOption('telemetry');
    await page.getByTestId('import-format').selectOption('wide-csv');
    await page.waitForFunction(() => document.querySelector('[data-testid=import-check-error]')?.textContent?.includes('the time column in the import form'));
    await page.getByTestId('import-time-column').selectOption('Zeit');
    await page.getByTestId('import-decimal-comma').check();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('latenz_p99'));
    expect(await page.getByTestId('import-check-error').count()).toBe(0);
    expect(await page.getByTestId('import-preview').locator('tbody tr').first().textContent()).toContain('1.5');
    await page.screenshot({ path: screenshotPath('import-wide-time-column.png'), fullPage: true });
    await page.getByTestId('import-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('kasse.csv: 4 rows imported'));
  });

  it('maps a CSV column the header leaves ambiguous', async () => {
    await page.getByTestId('nav-data').click();
    await page.getByTestId('import-file').setInputFiles({ name: 'odd.csv', mimeType: 'text/csv', buffer: Buffer.from('when,svc,what,reading\n2026-11-03T00:00:00Z,checkout,queue_depth,4\n') });
    await page.getByTestId('import-mapping').waitFor();
    // "when" and "reading" are nobody's synonyms: the preview says what is missing until they are mapped.
    await page.getByTestId('import-check-error').waitFor();
    expect(await page.getByTestId('import-check-error').textContent()).toMatch(/no column for required fields? .*\(columns: when, svc, what, reading\)/);
    await page.getByTestId('map-timestamp').selectOption('when');
    await page.getByTestId('map-service').selectOption('svc');
    await page.getByTestId('map-metric').selectOption('what');
    await page.getByTestId('map-value').selectOption('reading');
    await page.getByTestId('import-recheck').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-preview] tbody')?.textContent?.includes('queue_depth'));
    await page.getByTestId('import-start').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('odd.csv: 1 row imported'));
  });

  it('shows the mapping an import used when it was started before the look at a newly chosen kind answered', async () => {
    // Looks at the file (dry runs) answer late, as on a busy server; the import itself does not.
    await page.route('**/api/import.start', async (route) => {
      if ((route.request().postData() ?? '').includes('"dryRun":true')) await new Promise((resolve) => setTimeout(resolve, 800));
      await route.continue();
    });
    try {
      await page.getByTestId('nav-data').click();
      await page.getByTestId('import-file').setInputFiles({ name: 'quick.csv', mimeType: 'text/csv', buffer: Buffer.from('timestamp,service,metric,value\n2026-11-02T00:00:00Z,checkout,quick_depth,4\n') });
      await page.getByTestId('import-kind').selectOption('telemetry');
      // Import at once: the look at the kind is dropped, and the import maps the header itself.
      await page.getByTestId('import-start').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=import-report]')?.textContent?.includes('quick.csv: 1 row imported'));
      const chosen = await page.getByTestId('import-wizard').locator('table select').evaluateAll((selects) => selects.map((e) => (e as HTMLSelectElement).value));
      expect(chosen).toEqual(['timestamp', 'service', 'metric', 'value']);
    } finally {
      await page.unroute('**/api/import.start');
    }
  });
});
