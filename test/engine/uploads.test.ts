import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshEngine } from '../helpers/workspace.js';

describe('an uploaded file (serve mode)', () => {
  it('stays for another try after a cancelled import, and is used up by one that lands', async () => {
    const { engine } = await freshEngine();
    const id = crypto.randomBytes(16).toString('hex');
    fs.mkdirSync(engine.uploadsDir, { recursive: true });
    const file = path.join(engine.uploadsDir, id);
    const t0 = Date.UTC(2026, 0, 1);
    fs.writeFileSync(file, `timestamp,service,metric,value\n${Array.from({ length: 60_000 }, (_, i) => `${t0 + i * 60_000},api,cpu,${i % 100}`).join('\n')}\n`);
    // Cancelled at its first progress report: the listener runs inside it, so the next batch stops.
    const off = engine.jobs.onUpdate((j) => {
      if (j.kind === 'import' && j.state === 'running' && /rows read/.test(j.progress.message)) engine.jobs.cancel(j.id);
    });
    const first = await engine.jobs.wait((await engine.call('import.start', { uploadId: id, fileName: 'cpu.csv', kind: 'telemetry' })).jobId);
    off();
    expect(first.state).toBe('cancelled');
    expect(fs.existsSync(file)).toBe(true);
    expect((await engine.call('workspace.info', {})).counts.points).toBe(0);
    // Import again, as the wizard's button still offers: it works, and the upload is used up.
    const second = await engine.jobs.wait((await engine.call('import.start', { uploadId: id, fileName: 'cpu.csv', kind: 'telemetry' })).jobId);
    expect(second.state).toBe('done');
    expect((await engine.call('workspace.info', {})).counts.points).toBe(60_000);
    expect(fs.existsSync(file)).toBe(false);
    engine.close();
  });
});
