import { useCallback, useMemo, useState } from 'react';
import { NoWorkspace } from '../components/Empty.js';
import type { AuditEntry, AuditVerification } from '../../../shared/contract/audit.js';
import { VirtualTable, type Column } from '../components/VirtualTable.js';
import { fmtTime } from '../format.js';
import { useStore } from '../store.js';

const columns: Column<AuditEntry>[] = [
  { key: 'seq', title: '#', width: 70, align: 'right', render: (e) => e.seq },
  { key: 'ts', title: 'Time (UTC)', width: 150, render: (e) => fmtTime(e.ts) },
  { key: 'actor', title: 'Who', width: 120, render: (e) => e.actor },
  { key: 'action', title: 'Action', width: 150, render: (e) => e.action },
  { key: 'subject', title: 'Subject', width: 320, render: (e) => <span title={e.subject}>{e.subject}</span> },
  { key: 'payload', title: 'Details', width: 420, render: (e) => <code title={JSON.stringify(e.payload)}>{JSON.stringify(e.payload).slice(0, 160)}</code> },
  { key: 'hash', title: 'Hash', width: 110, render: (e) => <code title={e.hash}>{e.hash.slice(0, 10)}</code> },
];

/** The audit log: every import, model change, run, verdict, feedback and export, and a check of its chain. */
export function Audit() {
  const { client, workspace, fail } = useStore();
  const [action, setAction] = useState('');
  const [text, setText] = useState('');
  const [verification, setVerification] = useState<AuditVerification | null>(null);
  const fetchPage = useCallback((offset: number, limit: number) => client!.call('audit.list', { offset, limit, ...(action ? { action } : {}), ...(text ? { text } : {}) }), [client, action, text]);
  const resetKey = useMemo(() => `${workspace?.path}|${action}|${text}|${verification ? 'v' : ''}`, [workspace, action, text, verification]);
  if (!workspace || !client) return <NoWorkspace />;
  return (
    <div className="page audit">
      <section className="card">
        <div className="row-between">
          <h2>Audit log <span className="muted small">append-only; each entry's hash covers the one before it</span></h2>
          <button onClick={() => void client.call('audit.verify', {}).then(setVerification).catch(fail)} data-testid="audit-verify">Verify the chain</button>
        </div>
        {verification && (
          <p className={verification.ok ? 'ok-text' : 'error-text'} data-testid="audit-verification">
            {verification.ok ? `Intact: ${verification.entries} entries; head ${verification.head}` : `Broken${verification.firstBad !== null ? ` at entry #${verification.firstBad}` : ''}: ${verification.reason}`}
          </p>
        )}
        <div className="form-row">
          <label>Action
            <select value={action} onChange={(e) => setAction(e.target.value)} data-testid="audit-action">
              <option value="">all</option>
              {['import.', 'model.', 'run.', 'detection.', 'drill.', 'gate.', 'feedback.', 'report.', 'dataset.', 'pii.'].map((a) => <option key={a} value={a}>{a.slice(0, -1)}</option>)}
            </select>
          </label>
          <label>Contains <input value={text} onChange={(e) => setText(e.target.value)} placeholder="subject or details" /></label>
        </div>
        <VirtualTable columns={columns} fetchPage={fetchPage} resetKey={resetKey} height={520} testId="audit-table" />
      </section>
    </div>
  );
}
