import prand from 'pure-rand';

/**
 * The demo world: services with tiers and dependencies, seasonal telemetry, changes whose true
 * risk is a non-linear function of their attributes and history, incidents caused by some of those
 * changes (and a few by traffic or a failing dependency), human detection delays, static alerts,
 * and postmortem links for most change-caused incidents. Seeded and deterministic: the same
 * options always give the same bytes.
 */

export interface DemoOptions {
  seed: number;
  start: number; // epoch ms, UTC midnight
  days: number;
  stepMinutes: number;
  changesPerDay: number;
  /** Extra copies of the service list (for benchmark-sized sets); 0 = the 12 demo services. */
  serviceCopies: number;
}

export const DEFAULT_OPTIONS: DemoOptions = {
  seed: 20260901,
  start: Date.UTC(2026, 8, 1),
  days: 90,
  stepMinutes: 5,
  changesPerDay: 20,
  serviceCopies: 0,
};

export interface DemoService { name: string; tier: number; team: string; dependsOn: string[]; rps: number; latency: number; errors: number; cpu: number; weight: number }
export interface DemoChange {
  id: string; service: string; ts: number; kind: string; author: string; version: string;
  lines_added: number; lines_deleted: number; files_changed: number; tests_changed: number; config_only: number; dependency_bump: number; off_hours: number;
  rolled_back: boolean; trueRisk: number; causedIncident: string | null;
}
export interface DemoIncident {
  id: string; service: string; severity: number; started: number; detected: number; mitigated: number; resolved: number;
  causeChangeId: string | null; trueCause: string; title: string;
}
export interface DemoAlert { id: string; service: string; ts: number; resolved: number; name: string; metric: string; severity: number }

export const METRICS = ['request_rate', 'latency_p99_ms', 'error_rate_pct', 'cpu_pct'] as const;

const BASE_SERVICES: ReadonlyArray<Omit<DemoService, 'dependsOn'> & { dependsOn: string[] }> = [
  { name: 'edge-gateway', tier: 1, team: 'edge', dependsOn: ['auth', 'catalog', 'search', 'checkout', 'user-profile'], rps: 1800, latency: 120, errors: 0.2, cpu: 38, weight: 1.2 },
  { name: 'auth', tier: 1, team: 'identity', dependsOn: ['orders-db'], rps: 900, latency: 45, errors: 0.1, cpu: 30, weight: 1.0 },
  { name: 'checkout', tier: 1, team: 'payments', dependsOn: ['payments', 'cart', 'inventory'], rps: 220, latency: 260, errors: 0.3, cpu: 35, weight: 1.6 },
  { name: 'payments', tier: 1, team: 'payments', dependsOn: ['orders-db'], rps: 160, latency: 310, errors: 0.25, cpu: 32, weight: 1.3 },
  { name: 'orders-db', tier: 1, team: 'platform', dependsOn: [], rps: 2500, latency: 18, errors: 0.02, cpu: 45, weight: 0.5 },
  { name: 'cart', tier: 2, team: 'commerce', dependsOn: ['inventory'], rps: 400, latency: 90, errors: 0.2, cpu: 28, weight: 1.1 },
  { name: 'catalog', tier: 2, team: 'commerce', dependsOn: ['search'], rps: 1100, latency: 80, errors: 0.15, cpu: 33, weight: 1.2 },
  { name: 'search', tier: 2, team: 'discovery', dependsOn: [], rps: 700, latency: 140, errors: 0.2, cpu: 52, weight: 1.0 },
  { name: 'inventory', tier: 2, team: 'commerce', dependsOn: ['orders-db'], rps: 500, latency: 60, errors: 0.1, cpu: 27, weight: 0.9 },
  { name: 'user-profile', tier: 2, team: 'identity', dependsOn: ['orders-db'], rps: 600, latency: 55, errors: 0.1, cpu: 24, weight: 0.8 },
  { name: 'recommendations', tier: 3, team: 'discovery', dependsOn: ['catalog'], rps: 350, latency: 180, errors: 0.4, cpu: 61, weight: 1.0 },
  { name: 'notifications', tier: 3, team: 'growth', dependsOn: [], rps: 120, latency: 95, errors: 0.3, cpu: 20, weight: 0.7 },
];

const AUTHORS = [
  'ana.souza', 'bruno.keller', 'chen.wei', 'dara.okafor', 'elif.yilmaz', 'farah.haddad', 'gus.lindqvist', 'hana.sato', 'ivan.petrov',
  'jo.mensah', 'kai.nakamura', 'lena.fischer', 'marco.rossi', 'nadia.rahman', 'omar.aziz', 'priya.nair', 'quinn.obrien', 'rosa.diaz',
  'sam.taylor', 'tomas.novak', 'uma.iyer', 'victor.hugo', 'wen.li', 'xavier.dupont', 'yara.costa', 'zoe.martin',
];

export class Rng {
  private readonly gen: prand.RandomGenerator;
  constructor(seed: number) {
    this.gen = prand.xoroshiro128plus(seed);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return (this.gen.unsafeNext() >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i]!;
      if (r <= 0) return items[i]!;
    }
    return items[items.length - 1]!;
  }
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function isOffHours(ts: number): boolean {
  const d = new Date(ts);
  const hour = d.getUTCHours();
  const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
  return weekend || hour < 8 || hour >= 19;
}

export function demoServices(options: DemoOptions): DemoService[] {
  const services: DemoService[] = BASE_SERVICES.map((s) => ({ ...s, dependsOn: [...s.dependsOn] }));
  for (let copy = 1; copy <= options.serviceCopies; copy++) {
    for (const s of BASE_SERVICES) services.push({ ...s, name: `${s.name}-${copy}`, dependsOn: s.dependsOn.map((d) => `${d}-${copy}`) });
  }
  return services;
}

/** The true, hidden risk of a change: what a good model should learn and simple rules only approximate. */
export function trueRiskLogit(c: Pick<DemoChange, 'lines_added' | 'lines_deleted' | 'files_changed' | 'tests_changed' | 'config_only' | 'dependency_bump' | 'off_hours'>,
  context: { tier: number; authorPriorChanges: number; serviceIncidents7d: number; hoursSincePrevChange: number }): number {
  // Size and timing matter a little; what matters most are things a rule of thumb does not look
  // at: missing tests, config pushes, dependency bumps, authors new to the code, stacked deploys.
  const size = Math.log1p(c.lines_added + 0.5 * c.lines_deleted);
  let logit = 0.45 * size;
  if (c.tests_changed === 0) logit += 1.3;
  if (c.tests_changed === 0 && c.lines_added > 150) logit += 0.8; // big and untested: worse than either
  if (c.off_hours) logit += 0.3;
  if (c.config_only) logit += 0.9;
  if (context.tier === 1 && c.config_only) logit += 0.6;
  if (c.dependency_bump) logit += 1.8;
  if (context.authorPriorChanges < 8) logit += 1.6; // new to the codebase
  logit += 0.4 * Math.min(context.serviceIncidents7d, 3);
  if (c.files_changed > 25) logit += 0.5;
  if (context.hoursSincePrevChange < 2) logit += 1.1; // stacked deploys
  return logit;
}

export interface DemoWorld {
  services: DemoService[];
  changes: DemoChange[];
  incidents: DemoIncident[];
  steps: number;
}

/** Changes and incidents; telemetry and alerts are derived from them by the streaming writers below. */
export function generateWorld(options: DemoOptions): DemoWorld {
  const rng = new Rng(options.seed);
  const services = demoServices(options);
  const end = options.start + options.days * DAY;

  // 1. Change times and attributes, in time order.
  type Draft = Omit<DemoChange, 'trueRisk' | 'causedIncident' | 'rolled_back' | 'id' | 'version'> & { context: Parameters<typeof trueRiskLogit>[1] };
  const drafts: Draft[] = [];
  for (let day = 0; day < options.days; day++) {
    const dayStart = options.start + day * DAY;
    const weekday = new Date(dayStart).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const count = Math.max(0, Math.round(options.changesPerDay * (weekend ? 0.3 : 1.2) * (0.8 + 0.4 * rng.next()) * (1 + options.serviceCopies)));
    for (let i = 0; i < count; i++) {
      const offHours = rng.next() < 0.14;
      const hour = offHours ? rng.pick([0, 1, 2, 3, 5, 6, 19, 20, 21, 22, 23]) : 8 + rng.next() * 11;
      const ts = Math.floor((dayStart + hour * HOUR + rng.next() * HOUR) / 1000) * 1000;
      const service = rng.weighted(services, services.map((s) => s.weight));
      const kind = rng.weighted(['deploy', 'config', 'flag', 'infra'], [70, 19, 8, 3]);
      const config = kind === 'config' || kind === 'flag';
      const la = config ? rng.int(1, 25) : Math.round(rng.logNormal(45, 1.35));
      const ld = Math.round(la * rng.next() * 0.8);
      const files = config ? 1 : Math.max(1, Math.round(1 + Math.log1p(la) * rng.next() * 4 + (la > 500 ? rng.int(0, 30) : 0)));
      const tests = config ? 0 : rng.next() < 0.35 ? 0 : rng.int(1, Math.max(1, Math.ceil(files / 2)));
      drafts.push({
        service: service.name, ts, kind, author: rng.pick(AUTHORS), lines_added: la, lines_deleted: ld, files_changed: files,
        tests_changed: tests, config_only: config ? 1 : 0, dependency_bump: !config && rng.next() < 0.08 ? 1 : 0,
        off_hours: isOffHours(ts) ? 1 : 0, context: { tier: service.tier, authorPriorChanges: 0, serviceIncidents7d: 0, hoursSincePrevChange: 999 },
      });
    }
  }
  drafts.sort((a, b) => a.ts - b.ts);
  // Authors join over time: a few start with no history, so "new author" is a real signal.
  const authorCount = new Map<string, number>(AUTHORS.map((a, i) => [a, i < 20 ? 20 + i : 0]));
  const lastChange = new Map<string, number>();

  // 2. Outcomes, sequentially, because history (recent incidents) feeds the true risk.
  const changes: DemoChange[] = [];
  const incidents: DemoIncident[] = [];
  const intercept = -6.2;
  let incidentNo = 1000;
  const versions = new Map<string, number>();
  for (const d of drafts) {
    const prev = lastChange.get(d.service);
    d.context.hoursSincePrevChange = prev === undefined ? 999 : (d.ts - prev) / HOUR;
    d.context.authorPriorChanges = authorCount.get(d.author) ?? 0;
    d.context.serviceIncidents7d = incidents.filter((i) => i.service === d.service && i.started < d.ts && i.started > d.ts - 7 * DAY).length;
    const risk = sigmoid(intercept + trueRiskLogit(d, d.context));
    const failed = rng.next() < risk;
    const v = (versions.get(d.service) ?? 100) + 1;
    versions.set(d.service, v);
    const id = `chg-${String(changes.length + 1).padStart(5, '0')}`;
    const change: DemoChange = {
      id, service: d.service, ts: d.ts, kind: d.kind, author: d.author, version: `${d.service}@1.${Math.floor(v / 10)}.${v % 10}`,
      lines_added: d.lines_added, lines_deleted: d.lines_deleted, files_changed: d.files_changed, tests_changed: d.tests_changed,
      config_only: d.config_only, dependency_bump: d.dependency_bump, off_hours: d.off_hours,
      rolled_back: false, trueRisk: risk, causedIncident: null,
    };
    if (failed && d.ts < end - 6 * HOUR) {
      const started = d.ts + Math.round(Math.min(240, rng.logNormal(22, 0.8))) * MINUTE;
      const severity = rng.weighted([1, 2, 3, 4], [10, 30, 40, 20]);
      const incident = makeIncident(rng, `INC-${++incidentNo}`, d.service, severity, started, id, 'change');
      // Most postmortems name the change; some never got written or could not tell.
      incident.causeChangeId = rng.next() < 0.82 ? id : null;
      incidents.push(incident);
      change.causedIncident = incident.id;
      change.rolled_back = d.kind !== 'infra' && rng.next() < 0.75;
    } else if (rng.next() < 0.02) {
      change.rolled_back = true; // cautious rollbacks of changes that were fine
    }
    changes.push(change);
    authorCount.set(d.author, (authorCount.get(d.author) ?? 0) + 1);
    lastChange.set(d.service, d.ts);
  }

  // 3. Incidents nobody deployed: traffic surges at the edge and a failing database, which spread to dependents.
  const others = Math.max(4, Math.round(options.days / 5));
  for (let k = 0; k < others; k++) {
    const traffic = k % 2 === 0;
    const roots = services.filter((s) => (traffic ? s.name.startsWith('edge-gateway') : s.name.startsWith('orders-db')));
    const root = rng.pick(roots);
    const started = options.start + Math.floor(rng.next() * (options.days - 1) * DAY / MINUTE / 5) * 5 * MINUTE;
    incidents.push(makeIncident(rng, `INC-${++incidentNo}`, root.name, traffic ? 2 : 1, started, null, traffic ? 'traffic' : 'dependency'));
  }
  incidents.sort((a, b) => a.started - b.started);
  return { services, changes, incidents, steps: (options.days * DAY) / (options.stepMinutes * MINUTE) };
}

function makeIncident(rng: Rng, id: string, service: string, severity: number, started: number, cause: string | null, trueCause: string): DemoIncident {
  const mitigated = started + Math.round(rng.logNormal(45, 0.5) + 15) * MINUTE;
  const resolved = mitigated + Math.round(rng.logNormal(25, 0.6)) * MINUTE;
  // Humans notice after a delay; static alerts may page earlier (applied once alerts are known).
  const detected = started + Math.round(Math.min(90, 4 + rng.logNormal(14, 0.7))) * MINUTE;
  const what = trueCause === 'traffic' ? 'Traffic surge saturating' : trueCause === 'dependency' ? 'Database degradation affecting' : rng.pick(['Elevated p99 latency on', 'Error spike on', 'Partial outage of', 'Timeouts in']);
  return { id, service, severity, started, detected: Math.min(detected, mitigated - MINUTE), mitigated, resolved, causeChangeId: cause, trueCause, title: `${what} ${service}` };
}

/** How strongly an incident shows in a service's metrics at time t (0 = not at all). */
export function incidentImpact(world: DemoWorld, serviceIndex: Map<string, DemoService>): (service: string, t: number) => { latency: number; errors: number; cpu: number; traffic: number } {
  const dependents = new Map<string, string[]>();
  for (const s of world.services) for (const dep of s.dependsOn) dependents.set(dep, [...(dependents.get(dep) ?? []), s.name]);
  const byService = new Map<string, Array<{ inc: DemoIncident; weight: number }>>();
  for (const inc of world.incidents) {
    const strength = inc.severity === 1 ? 1.0 : inc.severity === 2 ? 0.75 : inc.severity === 3 ? 0.5 : 0.3;
    const add = (name: string, weight: number): void => {
      if (!serviceIndex.has(name)) return;
      byService.set(name, [...(byService.get(name) ?? []), { inc, weight }]);
    };
    add(inc.service, strength);
    // Failures spread one hop to the services that call the failing one, more weakly.
    if (inc.severity <= 2 || inc.trueCause !== 'change') for (const d of dependents.get(inc.service) ?? []) add(d, strength * 0.45);
  }
  return (service, t) => {
    const out = { latency: 0, errors: 0, cpu: 0, traffic: 0 };
    for (const { inc, weight } of byService.get(service) ?? []) {
      if (t < inc.started || t > inc.resolved) continue;
      // Full impact until mitigation, then a quick decay while it is being resolved.
      const ramp = Math.min(1, (t - inc.started) / (10 * MINUTE) + 0.3);
      const decay = t <= inc.mitigated ? 1 : Math.max(0, 1 - (t - inc.mitigated) / (inc.resolved - inc.mitigated + 1));
      const k = weight * ramp * decay;
      out.latency += k * (inc.trueCause === 'traffic' ? 2.2 : 2.8);
      out.errors += k * (inc.trueCause === 'traffic' ? 2 : 6);
      out.cpu += k * (inc.trueCause === 'traffic' ? 35 : 18);
      out.traffic += inc.trueCause === 'traffic' && service === inc.service ? k * 1.6 : 0;
    }
    return out;
  };
}

/**
 * Streams telemetry values in (service, metric, time) order through `emit`, and returns the
 * static alerts the incumbent threshold rules would have fired on them.
 */
export function generateTelemetry(world: DemoWorld, options: DemoOptions, emit: (ts: number, service: string, metric: string, value: number) => void): DemoAlert[] {
  const rng = new Rng(options.seed ^ 0x5eed);
  const serviceIndex = new Map(world.services.map((s) => [s.name, s]));
  const impact = incidentImpact(world, serviceIndex);
  const step = options.stepMinutes * MINUTE;
  const alerts: DemoAlert[] = [];
  for (const s of world.services) {
    const values: Record<(typeof METRICS)[number], Float64Array> = {
      request_rate: new Float64Array(world.steps), latency_p99_ms: new Float64Array(world.steps),
      error_rate_pct: new Float64Array(world.steps), cpu_pct: new Float64Array(world.steps),
    };
    let ar = 0;
    let blip = 0;
    for (let i = 0; i < world.steps; i++) {
      const t = options.start + i * step;
      const d = new Date(t);
      const hour = d.getUTCHours() + d.getUTCMinutes() / 60;
      const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
      const daily = 1 + 0.45 * Math.sin((2 * Math.PI * (hour - 8)) / 24);
      ar = 0.9 * ar + 0.05 * rng.normal();
      // Harmless blips (a GC pause, a noisy neighbour) are what make static thresholds page falsely.
      if (blip === 0 && rng.next() < 1 / (288 * 9)) blip = rng.int(2, 5);
      const blipping = blip > 0 ? 1 : 0;
      if (blip > 0) blip--;
      const load = daily * (weekend ? 0.72 : 1) * (1 + ar);
      const hit = impact(s.name, t);
      values.request_rate[i] = s.rps * load * (1 + hit.traffic) * (1 + 0.03 * rng.normal());
      values.latency_p99_ms[i] = s.latency * (1 + 0.3 * (load - 1)) * (1 + hit.latency + 1.6 * blipping) * Math.exp(0.07 * rng.normal());
      values.error_rate_pct[i] = Math.max(0, s.errors * (1 + 0.25 * rng.normal()) + hit.errors + 1.2 * blipping * rng.next());
      values.cpu_pct[i] = Math.min(99, Math.max(1, s.cpu * (0.7 + 0.3 * load) + hit.cpu + 3 * rng.normal()));
    }
    for (const metric of METRICS) {
      const series = values[metric];
      const digits = metric === 'error_rate_pct' ? 1000 : 10;
      for (let i = 0; i < world.steps; i++) emit(options.start + i * step, s.name, metric, Math.round(series[i]! * digits) / digits);
    }
    alerts.push(...staticAlerts(s, values.latency_p99_ms, values.error_rate_pct, options, alerts.length));
  }
  alerts.sort((a, b) => a.ts - b.ts);
  return alerts;
}

/** The incumbent: value beyond a fixed line for 3 consecutive steps, cleared after 3 steps below. */
function staticAlerts(s: DemoService, latency: Float64Array, errors: Float64Array, options: DemoOptions, offset: number): DemoAlert[] {
  const rules = [
    { name: `${s.name} p99 latency high`, metric: 'latency_p99_ms', data: latency, limit: s.latency * 2.6, severity: 2 },
    { name: `${s.name} error rate high`, metric: 'error_rate_pct', data: errors, limit: s.errors + 2.5, severity: 1 },
  ];
  const out: DemoAlert[] = [];
  const step = options.stepMinutes * MINUTE;
  for (const rule of rules) {
    let above = 0;
    let below = 0;
    let firing: DemoAlert | null = null;
    for (let i = 0; i < rule.data.length; i++) {
      const over = rule.data[i]! > rule.limit;
      above = over ? above + 1 : 0;
      below = over ? 0 : below + 1;
      const t = options.start + i * step;
      if (!firing && above >= 3) {
        firing = { id: `ALR-${String(offset + out.length + 1).padStart(5, '0')}`, service: s.name, ts: t, resolved: t, name: rule.name, metric: rule.metric, severity: rule.severity };
        out.push(firing);
      } else if (firing && below >= 3) {
        firing.resolved = t;
        firing = null;
      }
    }
    if (firing) firing.resolved = options.start + (rule.data.length - 1) * step;
  }
  return out;
}

/** An alert on the incident's service between its start and the human detection pages someone sooner. */
export function applyAlertPaging(world: DemoWorld, alerts: readonly DemoAlert[], options: DemoOptions): void {
  const rng = new Rng(options.seed ^ 0xa1e7);
  for (const inc of world.incidents) {
    const first = alerts.find((a) => a.service === inc.service && a.ts >= inc.started - 5 * MINUTE && a.ts <= inc.detected);
    if (first) inc.detected = Math.max(inc.started, Math.min(inc.detected, first.ts + rng.int(2, 6) * MINUTE));
  }
}
