import type { GateCriterion, GateSpec, GateSpecInput } from '../contract/gates.js';
import type { Interval } from '../metrics/bootstrap.js';
import { higherIsBetter, type MetricComparison } from '../metrics/compare.js';
import { MIN_EVIDENCE, tooFewSentence } from '../metrics/evidence.js';

/**
 * Gate verdicts: a criterion passes when the whole 95 % interval meets its bound, fails when the
 * whole interval misses it, and is inconclusive when the interval straddles it. Operational
 * figures (latency, error and fallback rates) have no interval and are read as they are.
 */

export type GateVerdict = 'pass' | 'fail' | 'inconclusive';

export interface GateInputs {
  /** scorecard metrics of the model under test, with intervals */
  metrics: Record<string, Interval>;
  /** latency_p50_ms, latency_p99_ms, error_rate, fallback_rate */
  operations: Record<string, number | null>;
  /** the comparison with the champion, when there is one */
  comparison: MetricComparison[] | null;
  /**
   * Why there is no comparison although the workspace has a champion (it did not run here, or none
   * was chosen): relative criteria are then undecided, never passed as if there were no champion.
   */
  championMissing?: string | null | undefined;
  /** the model under test is the champion itself */
  isChampion?: boolean | undefined;
  /** per metric, what its interval rests on: said when there are too few for one */
  evidence?: Record<string, { count: number; what: string }> | undefined;
  /** why a figure with no value is unknown here (max_psi without history before the run), for its criterion's reason */
  unknownWhy?: Record<string, string> | undefined;
  /** what relative criteria compare with: the champion (change-risk, the default) or the imported alerts (detection) */
  baseline?: 'champion' | 'imported_alerts' | undefined;
}

const BASELINE_NAME = { champion: 'the champion', imported_alerts: 'the imported alerts' } as const;

export const PRESETS: Record<'advisory' | 'gating', GateSpecInput> = {
  advisory: {
    name: 'advisory mode',
    description: 'Good enough to suggest: it ranks changes better than chance by a margin, is calibrated enough to read as a probability, answers reliably and fast, and is not worse than what runs today.',
    criteria: [
      { metric: 'auc_roc', op: '>=', value: 0.65 },
      { metric: 'capture_at_20', op: '>=', value: 0.3 },
      { metric: 'ece', op: '<=', value: 0.1 },
      { metric: 'error_rate', op: '<=', value: 0.01 },
      { metric: 'latency_p99_ms', op: '<=', value: 250 },
      { vs: 'champion', metric: 'auc_roc', op: 'not_worse_than', margin: 0.02 },
    ],
  },
  gating: {
    name: 'gating mode',
    description: 'Good enough to hold deploys back: strong ranking, most incident-causing changes caught while few good ones wait, near-perfect reliability, and better than what runs today.',
    criteria: [
      { metric: 'auc_roc', op: '>=', value: 0.75 },
      { metric: 'recall', op: '>=', value: 0.5 },
      { metric: 'fpr', op: '<=', value: 0.2 },
      { metric: 'ece', op: '<=', value: 0.05 },
      { metric: 'error_rate', op: '<=', value: 0.001 },
      { metric: 'fallback_rate', op: '<=', value: 0.001 },
      { metric: 'latency_p99_ms', op: '<=', value: 50 },
      { vs: 'champion', metric: 'auc_roc', op: 'improves' },
    ],
  },
};

const fmt = (v: number | null): string => (v === null ? '—' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));
const meets = (v: number, op: string, bound: number): boolean => (op === '>=' ? v >= bound : op === '<=' ? v <= bound : op === '>' ? v > bound : v < bound);

export function describeCriterion(c: GateCriterion): string {
  return 'vs' in c ? `${c.metric} ${c.op === 'improves' ? `improves on${c.margin > 0 ? ` (by more than ${c.margin})` : ''}` : `not worse than (margin ${c.margin})`} ${BASELINE_NAME[c.vs]}` : `${c.metric} ${c.op} ${c.value}`;
}

function absolute(c: Extract<GateCriterion, { op: '>=' | '<=' | '>' | '<' }>, inputs: GateInputs): { verdict: GateVerdict; reason: string } {
  if (c.metric in inputs.operations) {
    const v = inputs.operations[c.metric] ?? null;
    if (v === null) return { verdict: 'inconclusive', reason: inputs.unknownWhy?.[c.metric] ?? `${c.metric} is not known for this run` };
    return meets(v, c.op, c.value) ? { verdict: 'pass', reason: `${c.metric} is ${fmt(v)}, within ${c.op} ${c.value}` } : { verdict: 'fail', reason: `${c.metric} is ${fmt(v)}, which is not ${c.op} ${c.value}` };
  }
  const m = inputs.metrics[c.metric];
  if (!m) return { verdict: 'fail', reason: `${c.metric} is not a metric of this scorecard (known: ${[...Object.keys(inputs.metrics), ...Object.keys(inputs.operations)].join(', ')})` };
  if (m.value === null) return { verdict: 'inconclusive', reason: inputs.unknownWhy?.[c.metric] ?? `${c.metric} is undefined here (no incidents, or no changes flagged)` };
  const span = m.lo !== null && m.hi !== null ? ` [${fmt(m.lo)}, ${fmt(m.hi)}]` : '';
  if (m.lo === null || m.hi === null) {
    const few = inputs.evidence?.[c.metric];
    const why = few && few.count < MIN_EVIDENCE ? `: ${tooFewSentence(few.count, few.what)}` : '';
    return meets(m.value, c.op, c.value) ? { verdict: 'inconclusive', reason: `${c.metric} is ${fmt(m.value)} but has no interval to be sure${why}` } : { verdict: 'fail', reason: `${c.metric} is ${fmt(m.value)}, which is not ${c.op} ${c.value}` };
  }
  const lowOk = meets(m.lo, c.op, c.value);
  const highOk = meets(m.hi, c.op, c.value);
  if (lowOk && highOk) return { verdict: 'pass', reason: `${c.metric} ${fmt(m.value)}${span} is ${c.op} ${c.value} across its 95 % interval` };
  if (!lowOk && !highOk) return { verdict: 'fail', reason: `${c.metric} ${fmt(m.value)}${span} is not ${c.op} ${c.value} anywhere in its 95 % interval` };
  return { verdict: 'inconclusive', reason: `${c.metric} ${fmt(m.value)}${span}: the interval straddles ${c.value}; more data is needed to tell` };
}

function relative(c: Extract<GateCriterion, { vs: string }>, inputs: GateInputs): { verdict: GateVerdict; reason: string } {
  if (c.vs === 'imported_alerts') return relativeTo(c, inputs, BASELINE_NAME.imported_alerts, 'detector − imported alerts');
  // With no champion yet (a workspace's first candidate), "no worse than the champion" holds:
  // there is nothing to fall behind, and an advisory gate must not be stuck at inconclusive
  // (exit 3) until someone names one. "Improves on the champion" has nothing to improve on.
  if (inputs.isChampion) {
    return c.op === 'improves'
      ? { verdict: 'fail', reason: `this model is the champion: it cannot improve ${c.metric} on itself` }
      : { verdict: 'pass', reason: `this model is the champion, so ${c.metric} cannot fall behind it` };
  }
  if (!inputs.comparison && inputs.championMissing) return { verdict: 'inconclusive', reason: `${inputs.championMissing}, so ${c.metric} was not compared with it` };
  if (!inputs.comparison) {
    return c.op === 'improves'
      ? { verdict: 'inconclusive', reason: `no champion to improve ${c.metric} on; name one (shadowbench champion) for this criterion to decide` }
      : { verdict: 'pass', reason: `no champion yet, so nothing for ${c.metric} to fall behind; the absolute criteria decide` };
  }
  return relativeTo(c, inputs, BASELINE_NAME.champion, 'challenger − champion');
}

/** A relative criterion judged on the paired difference with `who` (the champion, or the imported alerts). */
function relativeTo(c: Extract<GateCriterion, { vs: string }>, inputs: GateInputs, who: string, diffName: string): { verdict: GateVerdict; reason: string } {
  if (!inputs.comparison) return { verdict: 'inconclusive', reason: `${inputs.championMissing ?? `nothing to compare with`}; ${c.metric} was not compared with ${who}` };
  const m = inputs.comparison.find((x) => x.metric === c.metric);
  if (!m) return { verdict: 'fail', reason: `${c.metric} is not a compared metric` };
  const higher = higherIsBetter(c.metric);
  if (higher === null || higher === undefined) return { verdict: 'fail', reason: `${c.metric} has no better direction to compare by` };
  const d = m.difference;
  if (d.lo === null || d.hi === null || d.value === null) {
    const few = inputs.evidence?.[c.metric];
    if (d.value === null && inputs.unknownWhy?.[c.metric]) return { verdict: 'inconclusive', reason: inputs.unknownWhy[c.metric]! };
    return { verdict: 'inconclusive', reason: `the difference in ${c.metric} has no interval${few && few.count < MIN_EVIDENCE ? `: ${tooFewSentence(few.count, few.what)}` : ''}` };
  }
  // Work in "gain" units: positive is better, whatever the metric's direction.
  const [gLo, gHi] = higher ? [d.lo, d.hi] : [-d.hi, -d.lo];
  const gain = higher ? d.value : -d.value;
  const span = `${diffName} ${fmt(d.value)} [${fmt(d.lo)}, ${fmt(d.hi)}]`;
  if (c.op === 'improves') {
    // "improves by at least `margin`": the whole interval of the gain must clear it.
    const by = c.margin ?? 0;
    const beyond = by > 0 ? ` by more than ${by}` : '';
    if (gLo > by) return { verdict: 'pass', reason: `${c.metric} improves on ${who}${beyond}: ${span}` };
    if (gHi <= by && by > 0) return { verdict: 'fail', reason: `${c.metric} does not improve on ${who} by more than ${by}: ${span}` };
    if (gHi < 0) return { verdict: 'fail', reason: `${c.metric} is worse than ${who}: ${span}` };
    return { verdict: gain === 0 && gLo === 0 && gHi === 0 ? 'fail' : 'inconclusive', reason: gain === 0 && gLo === 0 && gHi === 0 ? `${c.metric} is the same as ${who === BASELINE_NAME.champion ? "the champion's" : `for ${who}`}, not an improvement` : by > 0 ? `${c.metric} vs ${who}: ${span}; the interval includes gains of ${by} or less` : `${c.metric} vs ${who}: ${span}; the interval includes no difference` };
  }
  if (gLo >= -c.margin) return { verdict: 'pass', reason: `${c.metric} is no worse than ${who} by more than ${c.margin}: ${span}` };
  if (gHi < -c.margin) return { verdict: 'fail', reason: `${c.metric} is worse than ${who} by more than ${c.margin}: ${span}` };
  return { verdict: 'inconclusive', reason: `${c.metric} may be worse than ${who} by more than ${c.margin}: ${span}` };
}

/**
 * Criteria that name a metric these inputs cannot have: a typo in a gate file must stop the job
 * with the name, not read as a failed criterion (a CI job would then block on a spelling mistake,
 * or pass a gate that checks nothing).
 */
export function unknownMetrics(spec: GateSpec, inputs: GateInputs): string[] {
  const absolute = [...Object.keys(inputs.metrics), ...Object.keys(inputs.operations)];
  const compared = Object.keys(inputs.metrics).filter((k) => higherIsBetter(k) !== null && higherIsBetter(k) !== undefined);
  const problems: string[] = [];
  const baseline = inputs.baseline ?? 'champion';
  spec.criteria.forEach((c, i) => {
    // A gate written for the other task: a detector has no champion, a change-risk model no imported alerts to beat.
    if ('vs' in c && c.vs !== baseline) {
      problems.push(baseline === 'champion'
        ? `criteria.${i}: "vs": "${c.vs}" compares a detector with the imported alerts; a change-risk model is compared with the champion ("vs": "champion")`
        : `criteria.${i}: "vs": "${c.vs}": detectors have no champion; a detector is compared with the alerts the team has today ("vs": "imported_alerts")`);
    } else if ('vs' in c ? !compared.includes(c.metric) : !absolute.includes(c.metric)) {
      problems.push(`criteria.${i}: "${c.metric}" is not a metric ${'vs' in c ? `that can be compared with ${BASELINE_NAME[baseline]}` : 'of this scorecard'} (known: ${('vs' in c ? compared : absolute).join(', ')})`);
    }
  });
  return problems;
}

/**
 * What a criterion was judged on, as numbers, beside the sentence: the figure (or the difference with
 * the champion or the imported alerts) with its interval, and the bound. A CI dashboard reads these
 * instead of parsing the reason.
 */
function observed(c: GateCriterion, inputs: GateInputs): { observed: Interval | null; bound: number; better: 'higher' | 'lower' } {
  if ('vs' in c) {
    // In the difference's own units: for a lower-is-better metric a gain is a negative difference,
    // so "improves by m" is below −m and "not worse than by m" is at most +m.
    const higher = higherIsBetter(c.metric) !== false;
    const limit = c.op === 'improves' ? (higher ? c.margin : -c.margin) : (higher ? -c.margin : c.margin);
    return { observed: inputs.comparison?.find((x) => x.metric === c.metric)?.difference ?? null, bound: limit === 0 ? 0 : limit, better: higher ? 'higher' : 'lower' };
  }
  const better = c.op === '>=' || c.op === '>' ? 'higher' : 'lower';
  if (c.metric in inputs.operations) {
    const v = inputs.operations[c.metric] ?? null;
    return { observed: v === null ? null : { value: v, lo: null, hi: null }, bound: c.value, better };
  }
  return { observed: inputs.metrics[c.metric] ?? null, bound: c.value, better };
}

export function evaluateGate(spec: GateSpec, inputs: GateInputs): { verdict: GateVerdict; criteria: { criterion: string; verdict: GateVerdict; reason: string; observed?: Interval | null; bound?: number; better?: 'higher' | 'lower' }[] } {
  const criteria = spec.criteria.map((c) => ({ criterion: describeCriterion(c), ...('vs' in c ? relative(c, inputs) : absolute(c, inputs)), ...observed(c, inputs) }));
  const verdict: GateVerdict = criteria.some((c) => c.verdict === 'fail') ? 'fail' : criteria.some((c) => c.verdict === 'inconclusive') ? 'inconclusive' : 'pass';
  return { verdict, criteria };
}
