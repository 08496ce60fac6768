import { useState } from 'react';
import type { GateResult } from '../../../shared/contract/gates.js';
import { useStore } from '../store.js';

/**
 * Making a model the champion (the model that gates deployments) is a decision: asked twice, with
 * a reason kept in the model's history and the audit log, and with the gate's verdict in view. A
 * verdict other than PASS (or none at all) is said before the second click, not hidden.
 */
export function Promote({ modelId, label, verdict, testId }: { modelId: number; label: string; verdict: GateResult | null | undefined; testId: string }) {
  const setChampion = useStore((s) => s.setChampion);
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  if (!asking) return <button type="button" className="link" onClick={() => setAsking(true)} data-testid={testId}>Make champion…</button>;
  const warning = verdict === undefined
    ? 'No gate has judged it here: compare it with the champion on the Compare page first.'
    : verdict === null ? null
    : verdict.verdict === 'pass' ? null
    : `The gate “${verdict.gate}” says ${verdict.verdict.toUpperCase()} for it.`;
  return (
    <div className="promote" role="group" aria-label={`Make ${label} the champion`}>
      <span>Make <strong>{label}</strong> the champion, the model deploys are judged by?</span>
      {warning && <span className="verdict-inconclusive small" data-testid={`${testId}-warning`}>{warning}</span>}
      <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="why (kept in its history and the audit log)" maxLength={500} aria-label="reason" data-testid={`${testId}-reason`} />
      <button type="button" className="primary" disabled={reason.trim() === ''} onClick={() => void setChampion(modelId, reason.trim()).then(() => setAsking(false))} data-testid={`${testId}-confirm`}>Make champion</button>
      <button type="button" onClick={() => setAsking(false)}>Cancel</button>
    </div>
  );
}
