import { describe, expect, it } from 'vitest';
import { JobRunner } from '../../electron/engine/jobs/jobs.js';
import { EngineFailure } from '../../electron/engine/errors.js';
import type { JobStatus } from '../../shared/contract/records.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('jobs', () => {
  it('run one at a time in order, and report result or failure', async () => {
    const runner = new JobRunner();
    const order: string[] = [];
    const a = runner.start('t', 'a', async () => { order.push('a-start'); await sleep(50); order.push('a-end'); return 1; });
    const b = runner.start('t', 'b', async () => { order.push('b'); throw new EngineFailure('input_error', 'bad file'); });
    expect(runner.get(b.id).state).toBe('queued');
    expect((await runner.wait(a.id)).result).toBe(1);
    const failed = await runner.wait(b.id);
    expect(order).toEqual(['a-start', 'a-end', 'b']);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'input_error', message: 'bad file' } });
  });

  it('keep sending progress while work is silent, so a client can tell it is alive', async () => {
    const runner = new JobRunner();
    const seen: JobStatus[] = [];
    runner.onUpdate((j) => seen.push(j));
    const job = runner.start('t', 'slow', async () => sleep(1300));
    await runner.wait(job.id);
    expect(seen.filter((j) => j.state === 'running').length).toBeGreaterThanOrEqual(3);
  });

  it('cancel a queued job at once and a running one at its next check', async () => {
    const runner = new JobRunner();
    let checks = 0;
    const running = runner.start('t', 'loop', async (ctx) => {
      for (;;) {
        await sleep(5);
        checks++;
        ctx.throwIfCancelled();
      }
    });
    const queued = runner.start('t', 'later', async () => 'never');
    expect(runner.cancel(queued.id).state).toBe('cancelled');
    await sleep(30);
    // Cancel is said once: a listener that cancels on every update (or a double click) does not loop.
    let told = 0;
    runner.onUpdate((j) => {
      if (j.id !== running.id || j.state !== 'running') return;
      told++;
      runner.cancel(j.id);
    });
    runner.cancel(running.id);
    expect(told).toBe(1);
    const ended = await runner.wait(running.id);
    expect(ended.state).toBe('cancelled');
    expect(ended.progress.message).toMatch(/as it was/);
    expect(checks).toBeGreaterThan(0);
    expect(() => runner.get('nope')).toThrow(/No job/);
  });

  it('report work that finished as done, even when a cancel arrived after its last check', async () => {
    const runner = new JobRunner();
    let release!: () => void;
    const job = runner.start('t', 'commits', async (ctx) => {
      ctx.throwIfCancelled();
      await new Promise<void>((r) => (release = r)); // committing: no more checks
      return 'committed';
    });
    await sleep(10);
    runner.cancel(job.id);
    release();
    const ended = await runner.wait(job.id);
    expect([ended.state, ended.result]).toEqual(['done', 'committed']);
    expect(ended.progress.message).not.toMatch(/as it was/);
  });
});
