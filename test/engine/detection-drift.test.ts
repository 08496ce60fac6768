import { describe, expect, it } from 'vitest';
import type { DetectionRunInfo } from '../../shared/contract/detection.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

describe('drift of detection inputs', () => {
  it('flags a series whose level moved in the run range and leaves a steady one stable', async () => {
    const { engine, dir } = await freshEngine();
    // Two services, one point a minute for two days; "pay" steps up by 5σ on day two.
    const lines = ['timestamp,service,metric,value'];
    const t0 = Date.UTC(2026, 0, 1);
    let s = 7;
    const noise = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2;
    for (let i = 0; i < 2 * 1440; i++) {
      const ts = new Date(t0 + i * 60_000).toISOString();
      lines.push(`${ts},web,latency_ms,${(100 + 5 * noise()).toFixed(3)}`);
      lines.push(`${ts},pay,latency_ms,${(100 + 5 * noise() + (i >= 1440 ? 15 : 0)).toFixed(3)}`);
    }
    await importPath(engine, writeFile(dir, 'tele.csv', lines.join('\n')), { kind: 'telemetry' });
    const det = await engine.call('detectors.add', { name: 'z', spec: { kind: 'zscore', metrics: ['latency_ms'], window: 60 } });
    const { jobId } = await engine.call('detection.start', { models: [det.id], from: t0 + 1440 * 60_000 });
    const run = (await engine.jobs.wait(jobId)).result as DetectionRunInfo;
    const drift = run.drift!;
    const pay = drift.inputs.find((i) => i.service === 'pay')!;
    const web = drift.inputs.find((i) => i.service === 'web')!;
    expect(pay.band).toBe('drift');
    expect(pay.ksP!).toBeLessThan(1e-9);
    expect(web.band).toBe('stable');
    expect(web.referencePoints).toBe(1440);
    expect(drift.flag).toBe(true);
    expect(drift.worst).toBe('pay/latency_ms');
    expect((await engine.call('detection.runs', {}))[0]!.drift).toEqual(drift);
  });
});
