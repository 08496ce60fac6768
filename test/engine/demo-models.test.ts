import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli.js';
import { tempDir } from '../helpers/workspace.js';

type Card = { model: { name: string }; metrics: Record<string, { value: number; lo: number; hi: number }> };
let cards: Record<string, Card['metrics']>;

beforeAll(async () => {
  const workspace = path.join(tempDir(), 'demo.sbw');
  const quiet = { out: () => undefined, err: () => undefined, isTTY: false };
  expect(await runCli(['demo', '--workspace', workspace], quiet)).toBe(0);
  expect(await runCli(['models', 'train', '--workspace', workspace, '--name', 'risk-lr', '--train-fraction', '0.6'], quiet)).toBe(0);
  expect(await runCli(['models', 'train', '--workspace', workspace, '--name', 'rules', '--kind', 'heuristic'], quiet)).toBe(0);
  let out = '';
  // demo-gbdt is the shipped ONNX model the demo registers; it was trained on the same first 60 %.
  expect(await runCli(['run', '--workspace', workspace, '--models', 'risk-lr,rules,demo-gbdt', '--from', 'after-training', '--json'], { ...quiet, out: (t) => (out += t) })).toBe(0);
  cards = Object.fromEntries((JSON.parse(out) as { scorecards: Card[] }).scorecards.map((c) => [c.model.name, c.metrics]));
}, 180_000);

describe('models on the demo workspace', () => {
  it('the trained logistic regression beats the heuristic rules on AUC with non-overlapping intervals', () => {
    expect(cards['risk-lr']!.auc_roc!.lo).toBeGreaterThan(cards.rules!.auc_roc!.hi);
  });

  it('the shipped ONNX model beats them clearly: each estimate lies outside the other\'s interval', () => {
    const gbdt = cards['demo-gbdt']!.auc_roc!;
    const rules = cards.rules!.auc_roc!;
    expect(gbdt.value).toBeGreaterThan(rules.hi);
    expect(gbdt.lo).toBeGreaterThan(rules.value);
  });
});
