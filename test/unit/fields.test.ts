import { describe, expect, it } from 'vitest';
import { mapColumns } from '../../shared/domain/fields.js';
import { normaliseRow } from '../../shared/domain/normalize.js';

const time = { unit: 'auto' as const };

describe('mapColumns', () => {
  it('maps unambiguous headers by synonym, whatever their case and separators', () => {
    const m = mapColumns('incidents', ['Incident ID', 'Service', 'Severity', 'Started At', 'resolved_at', 'Owner'], {});
    if ('error' in m) throw new Error(m.error);
    expect(Object.fromEntries(m.toField)).toEqual({ 'Incident ID': 'id', Service: 'service', Severity: 'severity', 'Started At': 'started', resolved_at: 'resolved' });
    expect(m.extra).toEqual(['Owner']);
    expect(m.missing).toEqual([]);
  });

  it('takes the column that names a field best, not the first that could (PagerDuty\'s urgency comes before its priority)', () => {
    const m = mapColumns('incidents', ['id', 'service_name', 'urgency', 'priority', 'created_on'], {});
    if ('error' in m) throw new Error(m.error);
    expect(m.toField.get('priority')).toBe('severity');
    expect(m.extra).toContain('urgency');
    const alone = mapColumns('incidents', ['id', 'service_name', 'urgency', 'created_on'], {});
    expect('error' in alone ? null : alone.toField.get('urgency')).toBe('severity');
  });

  it('takes ServiceNow\'s priority as the severity (its severity is mostly left at "3 - Low"), and names the columns that could also have been it', () => {
    const servicenow = ['number', 'opened_at', 'short_description', 'priority', 'severity', 'impact', 'urgency', 'resolved_at', 'business_service', 'cmdb_ci'];
    const m = mapColumns('incidents', servicenow, {});
    if ('error' in m) throw new Error(m.error);
    expect(m.toField.get('priority')).toBe('severity');
    expect(m.toField.get('business_service')).toBe('service');
    expect(m.alternatives).toEqual([
      { field: 'service', column: 'business_service', others: ['cmdb_ci'] },
      { field: 'severity', column: 'priority', others: ['severity', 'urgency'] },
    ]);
    // Without ServiceNow's own field names, a column called severity is the severity, and priority is named as a rival.
    const generic = mapColumns('incidents', ['id', 'service', 'started', 'priority', 'severity'], {});
    if ('error' in generic) throw new Error(generic.error);
    expect(generic.toField.get('severity')).toBe('severity');
    expect(generic.alternatives).toEqual([{ field: 'severity', column: 'severity', others: ['priority'] }]);
    // A column another field took is no rival, and a field the user mapped has none.
    const taken = mapColumns('incidents', ['id', 'service', 'started_at', 'created_at', 'sev'], {});
    expect('error' in taken ? null : taken.alternatives).toEqual([]);
    const told = mapColumns('incidents', servicenow, { severity: 'severity' });
    expect('error' in told ? null : told.alternatives.map((a) => a.field)).toEqual(['service']);
  });

  it('maps camelCase headers as it maps snake_case ones (startsAt, deployedAt)', () => {
    const m = mapColumns('alerts', ['fingerprint', 'alertName', 'startsAt', 'endsAt'], {});
    if ('error' in m) throw new Error(m.error);
    expect(Object.fromEntries(m.toField)).toEqual({ fingerprint: 'id', alertName: 'name', startsAt: 'timestamp', endsAt: 'resolved' });
  });

  it('lets an explicit mapping win and ignore columns', () => {
    const m = mapColumns('changes', ['', '_id', 'date', 'bug', '__', 'la'], { _id: 'id', date: 'timestamp', bug: 'outcome', __: 'ignore' });
    if ('error' in m) throw new Error(m.error);
    expect(m.toField.get('_id')).toBe('id');
    expect(m.ignored).toEqual(['__', '']);
    expect(m.extra).toEqual(['la']);
    expect(m.missing).toEqual(['service']);
  });

  it('lets one column feed two fields when mapped as field+field (a pager export\'s created_on: started and detected)', () => {
    const m = mapColumns('incidents', ['id', 'service_name', 'urgency', 'created_on', 'resolved_on'], { created_on: 'started+detected' });
    if ('error' in m) throw new Error(m.error);
    expect(m.toField.get('created_on')).toBe('started');
    expect(m.copies).toEqual([['created_on', 'detected']]);
    expect(m.missing).toEqual([]);
    expect(mapColumns('incidents', ['id', 'created_on'], { created_on: 'started+detcted' })).toEqual({ error: expect.stringContaining('field "detcted", which incidents do not have') });
    expect(mapColumns('incidents', ['id', 'created_on', 'ack'], { created_on: 'started+detected', ack: 'detected' })).toEqual({ error: 'field "detected" is mapped from more than one column' });
  });

  it('names the column or field a bad mapping refers to', () => {
    expect(mapColumns('telemetry', ['ts', 'v'], { nope: 'value' })).toEqual({ error: expect.stringContaining('"nope"') });
    expect(mapColumns('telemetry', ['ts', 'v'], { v: 'volume' })).toEqual({ error: expect.stringContaining('"volume"') });
    expect(mapColumns('telemetry', ['ts', 'v', 'w'], { v: 'value', w: 'value' })).toEqual({ error: expect.stringContaining('"value" is mapped from more than one column') });
  });
});

describe('normaliseRow', () => {
  it('builds a telemetry row with the other columns as sorted labels', () => {
    const r = normaliseRow('telemetry', { timestamp: '2026-09-01T00:00:00Z', service: 'api', metric: 'cpu', value: '12.5' }, { zone: 'b', host: 'a', empty: '' }, { time });
    expect(r).toEqual({ ok: true, row: { kind: 'telemetry', ts: Date.UTC(2026, 8, 1), service: 'api', metric: 'cpu', value: 12.5, labels: { host: 'a', zone: 'b' } } });
    expect(JSON.stringify(r.ok && r.row.kind === 'telemetry' ? r.row.labels : null)).toBe('{"host":"a","zone":"b"}');
  });

  it('takes labels nested in one object (NDJSON\'s usual shape), sorted among the others, and names clashes', () => {
    const fields = { timestamp: '2026-09-01T00:00:00Z', service: 'api', metric: 'cpu', value: 1 };
    const r = normaliseRow('telemetry', fields, { zone: 'b', labels: { pod: 'p-1', host: 'a', replicas: 3, none: null } }, { time });
    expect(r.ok && r.row.kind === 'telemetry' ? JSON.stringify(r.row.labels) : r).toBe('{"host":"a","pod":"p-1","replicas":"3","zone":"b"}');
    expect(normaliseRow('telemetry', fields, { host: 'a', tags: { host: 'a' } }, { time })).toMatchObject({ ok: true });
    expect(normaliseRow('telemetry', fields, { host: 'a', tags: { host: 'b' } }, { time })).toEqual({ ok: false, reason: 'label host is given twice, as "a" and "b"' });
    expect(normaliseRow('telemetry', fields, { labels: { deep: { er: 1 } } }, { time })).toEqual({ ok: false, reason: 'label labels.deep must be text, got object' });
    expect(normaliseRow('telemetry', fields, { other: { host: 'a' } }, { time })).toEqual({ ok: false, reason: 'label other must be text, got object' });
  });

  it('refuses values that only JavaScript would call numbers', () => {
    for (const bad of ['0x10', '1e400', 'NaN', '12abc', 'Infinity']) {
      const r = normaliseRow('telemetry', { timestamp: '1700000000', service: 'a', metric: 'm', value: bad }, {}, { time });
      expect(r.ok, bad).toBe(false);
    }
  });

  it('reads plain decimals (the fast path) exactly as Number does, and refuses near misses', () => {
    const value = (v: string) => normaliseRow('telemetry', { timestamp: '1700000000', service: 'a', metric: 'm', value: v }, {}, { time });
    for (const ok of ['12.5', '-0.5', '+5', '007', '.5', '5.', '1e3', '-2.5E-3', 'true']) expect(value(ok)).toMatchObject({ ok: true, row: { value: ok === 'true' ? 1 : Number(ok) } });
    for (const bad of ['1.2.3', '-', '+', '.', '--1', '1-2', '+-1']) expect(value(bad)).toEqual({ ok: false, reason: `value "${bad}" is not a number` });
  });

  it('reads incident severities the way incident tools write them', () => {
    for (const [raw, sev] of [['SEV2', 2], ['P1', 1], ['3', 3], ['sev-4', 4]] as const) {
      const r = normaliseRow('incidents', { id: 'i', service: 's', severity: raw, started: '1700000000' }, {}, { time });
      expect(r.ok && r.row.kind === 'incidents' && r.row.severity).toBe(sev);
    }
  });

  it('reads alerting rules\' severity words, and Go\'s zero time as "not resolved" (Alertmanager\'s endsAt while firing)', () => {
    for (const [raw, sev] of [['critical', 1], ['warning', 3], ['info', 4], ['Error', 2]] as const) {
      const r = normaliseRow('alerts', { service: 's', timestamp: '1700000000', severity: raw }, {}, { time });
      expect(r.ok && r.row.kind === 'alerts' && r.row.severity).toBe(sev);
    }
    const firing = normaliseRow('alerts', { service: 's', timestamp: '2024-03-11T13:00:00+01:00', resolved: '0001-01-01T00:00:00Z' }, {}, { time });
    expect(firing.ok && firing.row.kind === 'alerts' && firing.row.resolvedTs).toBeNull();
    expect(normaliseRow('alerts', { service: 's', timestamp: '0001-01-01T00:00:00Z' }, {}, { time })).toEqual({ ok: false, reason: 'timestamp is 0001-01-01T00:00:00Z, Go\'s "not set"' });
    // Only the words themselves: a cell saying "constructor" once found Object's and broke the writer.
    for (const raw of ['constructor', '__proto__', 'toString']) expect(normaliseRow('alerts', { service: 's', timestamp: '1700000000', severity: raw }, {}, { time }).ok).toBe(false);
  });

  it('refuses an incident resolved before it started', () => {
    const r = normaliseRow('incidents', { id: 'i', service: 's', severity: '1', started: '1700000100', resolved: '1700000000' }, {}, { time });
    expect(r).toEqual({ ok: false, reason: 'resolved is before started' });
  });

  it('keeps numeric change attributes and refuses text in them', () => {
    const ok = normaliseRow('changes', { id: 'c1', service: 's', timestamp: '1700000000', rolled_back: 'true' }, { lines_added: '120', config_only: 'false' }, { time });
    expect(ok.ok && ok.row.kind === 'changes' && ok.row.attributes).toEqual({ config_only: 0, lines_added: 120 });
    expect(ok.ok && ok.row.kind === 'changes' && ok.row.rolledBack).toBe(true);
    const bad = normaliseRow('changes', { id: 'c1', service: 's', timestamp: '1700000000' }, { lines_added: 'many' }, { time });
    expect(bad).toEqual({ ok: false, reason: 'lines_added "many" is not a number' });
  });

  it('uses the default service only when the row has none', () => {
    const r = normaliseRow('changes', { id: 'c', timestamp: '1700000000' }, {}, { time, defaultService: 'openstack' });
    expect(r.ok && r.row.kind === 'changes' && r.row.service).toBe('openstack');
    expect(normaliseRow('changes', { id: 'c', timestamp: '1700000000' }, {}, { time })).toEqual({ ok: false, reason: 'service is missing' });
  });
});
