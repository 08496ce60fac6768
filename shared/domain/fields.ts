import type { RecordKind } from '../contract/records.js';

/**
 * The fields each kind of record has, and the column names that map to them without being told.
 * Matching is case-insensitive and ignores spaces, dashes and underscores, so "Started At" and
 * "started_at" both find `started`.
 */
export interface FieldSpec {
  name: string;
  required: boolean;
  synonyms: readonly string[];
  description: string;
}

/** Mapping target meaning "read past this column". */
export const IGNORE = 'ignore';

const f = (name: string, required: boolean, synonyms: string[], description: string): FieldSpec => ({ name, required, synonyms: [name, ...synonyms], description });

export const FIELDS: Record<RecordKind, readonly FieldSpec[]> = {
  telemetry: [
    f('timestamp', true, ['ts', 'time', 'datetime', 'date'], 'when the value was observed'),
    f('service', true, ['service_name', 'app', 'application', 'job'], 'the service the series belongs to'),
    f('metric', true, ['metric_name', 'name', '__name__'], 'metric name, e.g. latency_p99_ms'),
    f('value', true, ['val', 'y'], 'numeric value'),
  ],
  changes: [
    f('id', true, ['change_id', 'external_id', 'sha', 'commit', 'deploy_id'], 'unique id of the change'),
    f('service', true, ['service_name', 'app', 'application'], 'the service changed'),
    f('timestamp', true, ['ts', 'time', 'deployed_at', 'created_at', 'date'], 'when it went out'),
    f('kind', false, ['type', 'change_type'], 'deploy, config, flag or infra'),
    // actor: GitHub Actions; triggered_by, build_user: Jenkins; creator: GitHub's deployments.
    f('author', false, ['user', 'deployer', 'committer', 'actor', 'triggered_by', 'build_user', 'creator'], 'who made it'),
    // The commit, when something else is the id (a CI run's number: one commit deployed twice).
    f('version', false, ['release', 'revision', 'sha', 'commit', 'commit_sha', 'git_sha'], 'version or revision'),
    f('description', false, ['title', 'message', 'summary'], 'free text'),
    f('rolled_back', false, ['rollback', 'reverted'], 'true if it was rolled back'),
    f('outcome', false, ['label', 'bug', 'caused_incident'], 'explicit outcome label (1 = caused a failure)'),
  ],
  incidents: [
    f('id', true, ['incident_id', 'external_id', 'number', 'incident_number'], 'unique id of the incident'),
    // ServiceNow: the business_service column if the export has one, else cmdb_ci (the configuration
    // item the incident was raised on). Column by column, not row by row: a row whose business
    // service is empty is refused, naming that column.
    f('service', true, ['service_name', 'app', 'application', 'affected_service', 'business_service', 'cmdb_ci'], 'the service affected'),
    f('severity', true, ['sev', 'priority', 'urgency'], '1 = most severe'), // priority before urgency: PagerDuty's P1–P5 is the severity; urgency is only high/low
    f('started', true, ['started_at', 'started_ts', 'start', 'start_time', 'opened_at', 'created_on'], 'when impact began'),
    f('detected', false, ['detected_at', 'detected_ts', 'acknowledged_at', 'created_at'], 'when humans noticed'),
    f('mitigated', false, ['mitigated_at', 'mitigated_ts'], 'when impact stopped'),
    f('resolved', false, ['resolved_at', 'resolved_ts', 'closed_at', 'end', 'end_time', 'resolved_on'], 'when it was closed'),
    f('cause_change_id', false, ['cause', 'cause_change', 'caused_by_change'], 'id of the change the postmortem blamed'),
    f('title', false, ['summary', 'short_description', 'description', 'name'], 'title'), // short_description: ServiceNow's
  ],
  alerts: [
    f('id', false, ['alert_id', 'external_id', 'fingerprint'], 'unique id of the alert'),
    f('service', true, ['service_name', 'app', 'application'], 'the service alerted on'),
    f('timestamp', true, ['ts', 'fired_at', 'time', 'started_at', 'starts_at', 'created_at'], 'when it fired'), // created_at: Opsgenie's CreatedAt
    f('resolved', false, ['resolved_at', 'resolved_ts', 'ended_at', 'ends_at', 'closed_at'], 'when it cleared'), // closed_at: Opsgenie's "Closed At"
    f('name', false, ['alertname', 'alert_name', 'alert', 'rule', 'message'], 'alert rule name'), // message: Opsgenie's
    f('metric', false, ['metric_name'], 'metric the rule watches'),
    f('severity', false, ['sev', 'priority'], '1 = most severe'),
  ],
  predictions: [
    f('subject', true, ['change_id', 'change', 'id', 'external_id'], 'id of the change the score is for'),
    f('model', true, ['model_name'], 'name of the model that logged the score'),
    f('version', false, ['model_version'], 'its version'),
    f('score', true, ['risk', 'probability', 'prediction'], 'the score it logged, 0 to 1'),
    f('latency_ms', false, ['latency', 'duration_ms'], 'how long it took, if logged'),
  ],
  'detector-scores': [
    f('timestamp', true, ['ts', 'time', 'step'], 'the time step the score is for'),
    f('service', true, ['series', 'service_name', 'app'], 'the service (or series) scored'),
    f('model', true, ['detector', 'model_name'], 'name of the detector that logged the score'),
    f('version', false, ['model_version', 'detector_version'], 'its version'),
    f('score', true, ['anomaly_score', 'value'], 'the score it logged'),
  ],
  services: [
    f('name', true, ['service', 'service_name'], 'service name'),
    f('tier', false, ['criticality'], '1 = most critical'),
    f('team', false, ['owner', 'owning_team'], 'owning team'),
    f('depends_on', false, ['dependencies', 'deps', 'upstreams'], 'services it calls, separated by ; or |'),
  ],
};

export function normaliseHeader(name: string): string {
  // camelCase too (Alertmanager's startsAt, Argo CD's deployedAt): a word boundary like a space.
  return name.trim().replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[\s_-]+/g, '_');
}

export interface ColumnMapping {
  /** column -> field, for every column that maps to a field */
  toField: Map<string, string>;
  /**
   * Further fields a column feeds, mapped as `column=field+field` (a pager export's created_on is
   * both when the incident started, as far as anyone knows, and when humans were told).
   */
  copies: Array<[column: string, field: string]>;
  /** columns that stay as extra data (labels for telemetry, attributes for changes) */
  extra: string[];
  ignored: string[];
  missing: string[];
  /**
   * Fields taken from a column by its name when other columns of the file could also have been it
   * (ServiceNow's severity and priority, a deploy log's created_at and deployed_at): said in the
   * report, so a wrong pick is seen before it is stored.
   */
  alternatives: Array<{ field: string; column: string; others: string[] }>;
}

/**
 * Exports whose own field names say which tool wrote them, and a field they fill differently from
 * most. ServiceNow (number + opened_at): teams triage on `priority` (1 - Critical … 5 - Planning,
 * from impact and urgency) and most leave `severity` at its default, "3 - Low"; with the usual order
 * every P1 was stored as severity 3.
 */
const SHAPES: ReadonlyArray<{ kind: RecordKind; marks: readonly string[]; field: string; order: readonly string[] }> = [
  { kind: 'incidents', marks: ['number', 'opened_at'], field: 'severity', order: ['priority', 'severity', 'sev', 'urgency'] },
];

/** column -> field, or fields joined by "+" for a column that feeds several: as the report shows it. */
export function mappingRecord(mapping: ColumnMapping): Record<string, string> {
  const record = Object.fromEntries(mapping.toField);
  for (const [column, field] of mapping.copies) record[column] = `${record[column]}+${field}`;
  return record;
}

/**
 * Decide which column feeds which field. An explicit mapping wins; then exact synonyms. A field
 * named twice is an error the caller reports, never a silent pick.
 */
export function mapColumns(kind: RecordKind, columns: readonly string[], explicit: Readonly<Record<string, string>>): ColumnMapping | { error: string } {
  const specs = FIELDS[kind];
  const fieldNames = new Set(specs.map((s) => s.name));
  const toField = new Map<string, string>();
  const ignored: string[] = [];
  const copies: Array<[string, string]> = [];
  for (const [column, target] of Object.entries(explicit)) {
    if (!columns.includes(column)) return { error: `the mapping names column "${column}", which the file does not have (columns: ${columns.join(', ')})` };
    if (target === IGNORE) {
      ignored.push(column);
      continue;
    }
    const [field, ...more] = target.split('+').map((t) => t.trim());
    for (const name of [field!, ...more]) {
      if (!fieldNames.has(name)) return { error: `the mapping names field "${name}", which ${kind} do not have (fields: ${[...fieldNames].join(', ')}, or ${IGNORE})` };
    }
    toField.set(column, field!);
    for (const name of more) copies.push([column, name]);
  }
  const taken = new Set([...toField.values(), ...copies.map(([, field]) => field)]);
  for (const column of columns) if (column.trim() === '' && !ignored.includes(column)) ignored.push(column); // an unnamed index column, as pandas writes
  // Field by field, the column that names it best: its own name first, then its synonyms in
  // order. PagerDuty exports both urgency and priority; the column order once decided which
  // became the severity, and urgency (high/low) came first.
  const headers = new Set(columns.map(normaliseHeader));
  const shapes = SHAPES.filter((shape) => shape.kind === kind && shape.marks.every((m) => headers.has(m)));
  const candidates = new Map<string, string[]>();
  for (const spec of specs) {
    if (taken.has(spec.name)) continue;
    const names = (shapes.find((shape) => shape.field === spec.name)?.order ?? spec.synonyms).map(normaliseHeader);
    let best: string | null = null;
    let rank = Infinity;
    const matching: string[] = [];
    for (const column of columns) {
      if (toField.has(column) || ignored.includes(column)) continue;
      const r = names.indexOf(normaliseHeader(column));
      if (r >= 0) matching.push(column);
      if (r >= 0 && r < rank) {
        best = column;
        rank = r;
      }
    }
    if (best !== null) {
      toField.set(best, spec.name);
      taken.add(spec.name);
      candidates.set(spec.name, matching.filter((c) => c !== best));
    }
  }
  const duplicates = [...toField.values(), ...copies.map(([, field]) => field)].filter((v, i, all) => all.indexOf(v) !== i);
  if (duplicates.length > 0) return { error: `field "${duplicates[0]}" is mapped from more than one column` };
  const missing = specs.filter((s) => s.required && !taken.has(s.name)).map((s) => s.name);
  const extra = columns.filter((c) => !toField.has(c) && !ignored.includes(c));
  // Only the columns no other field took: "created_at" that became detected is no rival for started.
  const alternatives = [...toField].flatMap(([column, field]) => {
    const others = (candidates.get(field) ?? []).filter((c) => !toField.has(c));
    return others.length > 0 ? [{ field, column, others }] : [];
  });
  return { toField, copies, extra, ignored, missing, alternatives };
}
