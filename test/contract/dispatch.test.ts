import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../electron/engine/engine.js';
import { ERROR_CODES } from '../../shared/contract/result.js';
import { METHOD_NAMES, methods, PUBLIC_METHOD_NAMES } from '../../shared/contract/methods.js';
import { tempDir } from '../helpers/workspace.js';

describe('dispatch', () => {
  it('refuses an unknown method by name, without echoing an unbounded string', async () => {
    const engine = createEngine({ workspacesDir: tempDir() });
    const r = await engine.dispatch('x'.repeat(10_000), {});
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('unknown_method');
      expect(r.error.message.length).toBeLessThan(200);
    }
    expect(await engine.dispatch('__proto__', {})).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
    expect(await engine.dispatch('constructor', {})).toMatchObject({ ok: false, error: { code: 'unknown_method' } });
  });

  it('names the field that failed validation', async () => {
    const engine = createEngine({ workspacesDir: tempDir() });
    const r = await engine.dispatch('changes.page', { limit: 5000 });
    expect(r).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('limit') } });
    const s = await engine.dispatch('import.start', { kind: 'telemetry', uploadId: '../../etc/passwd', fileName: 'x' });
    expect(s).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('uploadId') } });
  });

  it('says a workspace is needed instead of failing obscurely', async () => {
    const engine = createEngine({ workspacesDir: tempDir() });
    expect(await engine.dispatch('services.list', {})).toMatchObject({ ok: false, error: { code: 'no_workspace' } });
  });

  it('keeps path-taking methods away from unprivileged callers', async () => {
    const engine = createEngine({ workspacesDir: tempDir() });
    const privileged = METHOD_NAMES.filter((m) => methods[m].privileged);
    expect(privileged.sort()).toEqual(['demo.build', 'detectors.addOnnxPath', 'import.prometheus', 'import.startPath', 'models.addOnnxPath', 'models.exportPath', 'rankers.addOnnxPath', 'workspace.backupPath', 'workspace.openPath']);
    for (const m of privileged) expect(await engine.dispatch(m, { path: '/etc/passwd' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(PUBLIC_METHOD_NAMES.length + privileged.length).toBe(METHOD_NAMES.length);
  });

  it('never throws and always answers with a known code, whatever it is sent', async () => {
    const engine = createEngine({ workspacesDir: tempDir() });
    await engine.call('workspace.create', { name: 'fuzz' });
    const method = fc.constantFrom(...PUBLIC_METHOD_NAMES.filter((m) => !['demo.open', 'workspace.close', 'workspace.create', 'workspace.open'].includes(m)));
    await fc.assert(fc.asyncProperty(method, fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true }), async (m, input) => {
      const r = await engine.dispatch(m, input);
      if (!r.ok) expect(ERROR_CODES).toContain(r.error.code);
      expect(r.ok || r.error.code !== 'internal').toBe(true);
    }), { numRuns: 400 });
  });
});
