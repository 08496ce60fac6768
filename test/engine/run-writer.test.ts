import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openWorkspace, type Db } from '../../electron/engine/db/workspace.js';
import type { Engine } from '../../electron/engine/engine.js';
import type { JobContext } from '../../electron/engine/jobs/jobs.js';
import { runChangeRisk } from '../../electron/engine/runs/replay-changes.js';
import { keptWriterThread, releaseKeptWriter, threadSink } from '../../electron/engine/runs/suggestion-sink.js';
import { runSubjects, SubjectTable, suggestionWriter, wireBatch, type RunSubjects, type SuggestionBatch } from '../../electron/engine/runs/suggestion-writer.js';
import { RunConfig } from '../../shared/contract/models.js';
import { partlyNanModel } from '../helpers/onnx-models.js';
import { freshEngine, importPath, writeFile } from '../helpers/workspace.js';

/**
 * Big shadow runs store their suggestions on a worker thread while the run scores the next batch
 * (suggestion-sink.ts). Whichever thread writes, a run must store the same suggestions; a writer
 * that fails must fail the run and leave nothing behind; a writer that cannot start must not cost
 * the run.
 */

const T0 = Date.UTC(2026, 8, 1);
let engine: Engine;
let dir: string;
let db: Db;
let models: { late: number; fallback: number; lr: number };

function job(cancelAfter = Infinity): JobContext & { cancelled: boolean } {
  let batches = 0;
  return {
    id: 'test', cancelled: false,
    throwIfCancelled() {
      if (this.cancelled) throw new Error('cancelled');
    },
    progress() {
      if (++batches >= cancelAfter) this.cancelled = true;
    },
  };
}

beforeAll(async () => {
  let workspace: string;
  ({ engine, dir, workspace } = await freshEngine());
  const rows: string[] = [];
  const incidents: string[] = [];
  for (let i = 0; i < 300; i++) {
    const size = (i * 37) % 100;
    // `guard` is fine for the registry's 64 trial rows, then 0 (the ONNX model's NaN) for every tenth change.
    rows.push(`c${i},svc${i % 3},${T0 + i * 3_600_000},dev${i % 7},${size},${i >= 64 && i % 10 === 0 ? 0 : 50}`);
    if ((i * 7919) % 100 < size / 2) incidents.push(`I${i},svc${i % 3},2,${T0 + i * 3_600_000 + 600_000},${T0 + i * 3_600_000 + 1_200_000},c${i}`);
  }
  await importPath(engine, writeFile(dir, 'changes.csv', `id,service,timestamp,author,size,guard\n${rows.join('\n')}\n`), { kind: 'changes', timeUnit: 'ms' });
  await importPath(engine, writeFile(dir, 'incidents.csv', `id,service,severity,started,detected,cause_change_id\n${incidents.join('\n')}\n`), { kind: 'incidents', timeUnit: 'ms' });
  const file = path.join(dir, 'late.onnx');
  fs.writeFileSync(file, partlyNanModel(1));
  const late = await engine.call('models.addOnnxPath', { path: file, manifest: { name: 'late', input: 'features', features: ['guard'], output: 'risk' } });
  const fallback = await engine.call('models.train', { name: 'fallback', kind: 'logistic', features: ['size'] });
  const lr = await engine.call('models.train', { name: 'lr', kind: 'logistic', features: ['size', 'service_changes_7d', 'hour_of_day'] });
  models = { late: late.id, fallback: fallback.id, lr: lr.id };
  // The run's own connection, as the engine's would be; the writer thread opens another.
  db = openWorkspace(workspace);
});

afterAll(() => {
  db.close();
  engine.close();
});

/** A run's suggestions without what differs between two runs of the same thing (its id, and timing). */
function stored(runId: number): unknown[] {
  return db.prepare('SELECT * FROM suggestions WHERE run_id = ? ORDER BY model_id, change_id').all(runId).map((r) => {
    const { run_id: _r, latency_ms: latency, ...rest } = r as Record<string, unknown>;
    expect(latency).toBeGreaterThanOrEqual(0);
    return rest;
  });
}

// Batches of 8: 38 per model, more than the writer may fall behind by, so the run also waits for it.
const config = () => RunConfig.parse({ models: [models.late, models.lr], fallbackModel: models.fallback, batchSize: 8 });

describe('a shadow run with its suggestions stored on a writer thread', () => {
  it('stores exactly what the same run stores on one thread: scores, errors, fallback answers, faults, outcomes', async () => {
    const warn = vi.spyOn(console, 'warn');
    const threaded = await runChangeRisk(db, config(), job(), { writeOnThread: true });
    const inline = await runChangeRisk(db, config(), job(), { writeOnThread: false });
    expect(warn).not.toHaveBeenCalledWith(expect.stringMatching(/writer thread unavailable/));
    warn.mockRestore();
    expect(threaded.state).toBe('done');
    const rows = stored(threaded.id) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(600);
    expect(rows).toEqual(stored(inline.id));
    // What travelled as columns came back as the right values.
    const late = rows.filter((r) => r.model_id === models.late);
    expect(late.filter((r) => r.error !== null)).toHaveLength(23);
    expect(late.filter((r) => r.fallback_model_id === models.fallback && typeof r.score === 'number' && /returned NaN/.test(r.error as string))).toHaveLength(23);
    expect(rows.filter((r) => r.score === null)).toHaveLength(0);
    expect(new Set(rows.map((r) => r.label_source))).toEqual(new Set(['postmortem', 'none']));
    // Each row carries its own change's time and outcome (the columns were not shifted between batches).
    const changes = new Map((db.prepare('SELECT id, external_id, ts FROM changes').all() as Array<{ id: number; external_id: string; ts: number }>).map((c) => [c.id, c]));
    for (const r of rows) {
      const i = Number(changes.get(r.change_id as number)!.external_id.slice(1));
      expect(r.replay_ts).toBe(T0 + i * 3_600_000);
      const caused = (i * 7919) % 100 < ((i * 37) % 100) / 2;
      expect([r.label, r.label_source, r.incident]).toEqual(caused ? [1, 'postmortem', `I${i}`] : [0, 'none', null]);
    }
    // The manifest counts each subject's outcome source once (counted as the changes were read, in slices).
    const causedCount = Array.from({ length: 300 }, (_, i) => (i * 7919) % 100 < ((i * 37) % 100) / 2).filter(Boolean).length;
    expect(causedCount).toBeGreaterThan(0);
    for (const run of [threaded, inline]) expect(run.manifest!.outcomeSources).toEqual({ none: 300 - causedCount, postmortem: causedCount });
    expect(Object.keys(threaded.manifest!.outcomeSources)).toEqual(Object.keys(inline.manifest!.outcomeSources));
    // Each model's own rows: every gated score sits above every passed one (one threshold between them).
    for (const id of [models.late, models.lr]) {
      const own = rows.filter((r) => r.model_id === id && r.fallback_model_id === null);
      const gated = own.filter((r) => r.decision === 1).map((r) => r.score as number);
      const passed = own.filter((r) => r.decision === 0).map((r) => r.score as number);
      expect(gated.length + passed.length).toBe(own.length);
      expect(Math.min(...gated)).toBeGreaterThan(Math.max(...passed));
    }
  });

  it('keeps nothing of a run cancelled part way, once its writer has stopped', async () => {
    const before = db.prepare('SELECT count(*) FROM suggestions').pluck().get();
    const cancelled = job(10);
    await expect(runChangeRisk(db, config(), cancelled, { writeOnThread: true })).rejects.toThrow(/cancelled/);
    const run = db.prepare('SELECT id, state FROM runs ORDER BY id DESC LIMIT 1').get() as { id: number; state: string };
    expect(run.state).toBe('cancelled');
    expect(db.prepare('SELECT count(*) FROM suggestions WHERE run_id = ?').pluck().get(run.id)).toBe(0);
    expect(db.prepare('SELECT count(*) FROM suggestions').pluck().get()).toBe(before);
  });
});

describe('the suggestion writer thread', () => {
  const subjects = (n = 4, skip = 0): RunSubjects => {
    const ids = db.prepare('SELECT id FROM changes ORDER BY ts, id LIMIT ? OFFSET ?').pluck().all(n, skip) as number[];
    return runSubjects(ids.map((id) => ({ id, ts: T0 + id })), ids.map(() => ({ label: 0, source: 'none', incident: null })));
  };
  const batch = (): SuggestionBatch => ({
    modelId: models.lr, start: 0, scores: Float64Array.of(0.1, Number.NaN, 0.9, 0.5), decisions: Int8Array.of(0, -1, 1, 1), latencies: new Float64Array(4),
    errors: [null, 'model lr returned NaN', null, null], fallbackIds: new Int32Array(4), faults: [null, 'error', null, null],
  });
  const newRun = (): number => Number(db.prepare("INSERT INTO runs (task, state, config, started_at) VALUES ('change-risk', 'running', '{}', 0)").run().lastInsertRowid);

  it('stores every row as given, whether its chunk of 64 has only plain rows or some with an error, fault, fallback or incident', () => {
    const ids = db.prepare('SELECT id, ts FROM changes ORDER BY ts, id LIMIT 300').raw().all() as Array<[number, number]>;
    const sources = ['explicit', 'postmortem', 'rule', 'none'] as const;
    // Subjects 5 and 170 have an incident; outcomes and sources vary row by row.
    const outcomes = ids.map((_, k) => ({ label: (k % 3 === 0 ? 1 : 0) as 0 | 1, source: sources[k % 4]!, incident: k === 5 || k === 170 ? `I-${k}` : null }));
    const table = new SubjectTable(runSubjects(ids.map(([id, ts]) => ({ id, ts })), outcomes));
    const runId = newRun();
    const write = suggestionWriter(db, runId, table);
    // Chunks are counted from each batch's start. Model lr, from 0: [0, 64) incident at 5; [64, 128)
    // error at 70; [128, 192) plain, NaN score at 150; [192, 256) fallback at 200; then from 256, 44
    // rows alone. Model fallback, from 100: [100, 164) fault at 120; [164, 228) incident at 170;
    // [228, 292) plain; 8 rows alone.
    const make = (modelId: number, start: number, n: number): SuggestionBatch => {
      const b: SuggestionBatch = {
        modelId, start, scores: Float64Array.from({ length: n }, (_, i) => (((start + i) * 37) % 100) / 100), decisions: new Int8Array(n),
        latencies: Float64Array.from({ length: n }, (_, i) => (start + i) / 10), errors: new Array(n).fill(null), fallbackIds: new Int32Array(n), faults: new Array(n).fill(null),
      };
      const mark = (k: number, f: (i: number) => void): void => {
        if (k >= start && k < start + n) f(k - start);
      };
      const nan = (i: number): void => {
        b.scores[i] = Number.NaN;
      };
      if (modelId === models.lr) {
        mark(70, (i) => {
          nan(i);
          b.errors[i] = 'model lr failed on c70: boom';
        });
        mark(150, nan);
        mark(200, (i) => {
          b.fallbackIds[i] = models.fallback;
        });
      } else {
        mark(120, (i) => {
          b.faults[i] = 'imputed';
        });
      }
      for (let i = 0; i < n; i++) b.decisions[i] = Number.isNaN(b.scores[i]!) ? -1 : b.scores[i]! >= 0.5 ? 1 : 0;
      return b;
    };
    const batches = [make(models.lr, 0, 256), make(models.lr, 256, 44), make(models.fallback, 100, 200)];
    for (const b of batches) write(wireBatch(b));
    const rows = db.prepare('SELECT model_id, change_id, replay_ts, score, decision, latency_ms, error, fallback_model_id, label, label_source, incident, fault FROM suggestions WHERE run_id = ? ORDER BY model_id, replay_ts, change_id').raw().all(runId);
    const expected = batches.flatMap((b) => Array.from(b.scores, (score, i) => {
      const k = b.start + i;
      return [b.modelId, ids[k]![0], ids[k]![1], Number.isNaN(score) ? null : score, b.decisions[i] === -1 ? null : b.decisions[i], b.latencies[i], b.errors[i], b.fallbackIds[i] || null,
        outcomes[k]!.label, outcomes[k]!.source, outcomes[k]!.incident, b.faults[i]];
    })).sort((x, y) => (x[0] as number) - (y[0] as number) || (x[2] as number) - (y[2] as number) || (x[1] as number) - (y[1] as number));
    expect(rows).toHaveLength(500);
    expect(rows).toEqual(expected);
    db.prepare('DELETE FROM suggestions WHERE run_id = ?').run(runId);
  });

  it('reports the database error that stopped it, and the run can tell', async () => {
    await releaseKeptWriter();
    const sink = threadSink(db);
    const runId = newRun();
    sink.open(runId, subjects());
    await sink.write(batch());
    await sink.write(batch()); // the same suggestions again: the primary key refuses them
    await expect(sink.drain()).rejects.toThrow(/^storing the run's suggestions failed: UNIQUE constraint failed: suggestions\./);
    await expect(sink.write(batch())).rejects.toThrow(/UNIQUE constraint failed/);
    expect(sink.threaded).toBe(true);
    await sink.close();
    // The first batch was committed on its own; the run's cleanup is what removes it.
    expect(db.prepare('SELECT score, decision, error, fault FROM suggestions WHERE run_id = ? ORDER BY change_id').all(runId)).toEqual([
      { score: 0.1, decision: 0, error: null, fault: null }, { score: null, decision: null, error: 'model lr returned NaN', fault: 'error' },
      { score: 0.9, decision: 1, error: null, fault: null }, { score: 0.5, decision: 1, error: null, fault: null },
    ]);
    // A thread that failed a run is not kept for the next.
    expect(keptWriterThread()).toBeNull();
  });

  it('keeps a thread that finished its run for the next run, which it serves with that run\'s own subjects', async () => {
    await releaseKeptWriter();
    const first = threadSink(db);
    const runA = newRun();
    first.open(runA, subjects(4));
    await first.write(batch());
    await first.drain();
    await first.close();
    const kept = keptWriterThread();
    expect(kept).not.toBeNull();

    // The next run's subjects are other changes: its batch's row k is that run's subject k.
    const second = threadSink(db);
    expect(keptWriterThread()).toBeNull();
    const runB = newRun();
    second.open(runB, subjects(4, 10));
    await second.write(batch());
    await second.drain();
    expect(second.threaded).toBe(true);
    await second.close();
    expect(keptWriterThread()).toBe(kept);
    const ids = (skip: number): number[] => db.prepare('SELECT id FROM changes ORDER BY ts, id LIMIT 4 OFFSET ?').pluck().all(skip) as number[];
    expect(db.prepare('SELECT change_id FROM suggestions WHERE run_id = ? ORDER BY change_id').pluck().all(runA)).toEqual(ids(0));
    expect(db.prepare('SELECT change_id FROM suggestions WHERE run_id = ? ORDER BY change_id').pluck().all(runB)).toEqual(ids(10));
  });

  it('does not keep a thread that ended while its run was closing', async () => {
    if (!keptWriterThread()) {
      const sink = threadSink(db);
      sink.open(newRun(), subjects());
      await sink.close();
    }
    const thread = keptWriterThread()!;
    const sink = threadSink(db);
    const runId = newRun();
    sink.open(runId, subjects());
    await sink.write(batch());
    await sink.drain();
    // Its exit, not its answer, ends the close: a thread kept now would be handed to the next run dead.
    const ended = thread.terminate();
    await sink.close();
    await ended;
    expect(keptWriterThread()).toBeNull();
    expect(db.prepare('SELECT count(*) FROM suggestions WHERE run_id = ?').pluck().get(runId)).toBe(4);
  });

  it('takes batches handed over without waiting for each, past its limit, and writes them all', async () => {
    const sink = threadSink(db);
    const runId = newRun();
    sink.open(runId, subjects(42));
    // 42 one-row batches at once, more than the 16 the writer may be behind: the ones over the limit
    // wait, and every one of them must be woken as the writer catches up. They cross four to a
    // message: the last two are handed over by the drain.
    const one = (k: number): SuggestionBatch => ({
      modelId: models.lr, start: k, scores: Float64Array.of(k / 42), decisions: Int8Array.of(0), latencies: new Float64Array(1),
      errors: [null], fallbackIds: new Int32Array(1), faults: [null],
    });
    await Promise.all(Array.from({ length: 42 }, (_, k) => sink.write(one(k))));
    await sink.drain();
    await sink.close();
    expect(db.prepare('SELECT score FROM suggestions WHERE run_id = ? ORDER BY score').pluck().all(runId)).toEqual(Array.from({ length: 42 }, (_, k) => k / 42));
  });

  it('writes on the run\'s own thread when the worker cannot start, and says so once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const sink = threadSink(db, { code: 'throw new Error("no loader here")', eval: true });
    const runId = newRun();
    sink.open(runId, subjects());
    await sink.write(batch());
    await sink.drain();
    expect(sink.threaded).toBe(false);
    await sink.write({ ...batch(), start: 2, scores: Float64Array.of(0.2, 0.3), decisions: Int8Array.of(0, 0), latencies: new Float64Array(2), errors: [null, null], fallbackIds: new Int32Array(2), faults: [null, null], modelId: models.late });
    await sink.close();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/run writer thread unavailable \(no loader here\); writing on one thread/));
    warn.mockRestore();
    expect(db.prepare('SELECT count(*) FROM suggestions WHERE run_id = ?').pluck().get(runId)).toBe(6);
  });

  it('writes on the run\'s own thread when the kept thread has ended before its run could use it', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    if (!keptWriterThread()) {
      const sink = threadSink(db);
      sink.open(newRun(), subjects());
      await sink.close();
    }
    const kept = keptWriterThread()!;
    // Ended, but its exit not yet seen: the run takes it, asks whether it is there, and hears the exit.
    void kept.terminate();
    const sink = threadSink(db);
    const runId = newRun();
    sink.open(runId, subjects());
    await sink.write(batch());
    await sink.drain();
    expect(sink.threaded).toBe(false);
    await sink.close();
    warn.mockRestore();
    expect(db.prepare('SELECT score FROM suggestions WHERE run_id = ? ORDER BY change_id').pluck().all(runId)).toEqual([0.1, null, 0.9, 0.5]);
    expect(keptWriterThread()).toBeNull();
  });
});
