import type { GateResult } from '../../../shared/contract/gates.js';
import { useStore } from '../store.js';

/** The saved gates, newest versions included, as a picker that loads one into an editor. */
export function SavedGates({ onPick }: { onPick: (specText: string) => void }) {
  const gates = useStore((s) => s.gates);
  if (gates.length === 0) return null;
  return (
    <select value="" onChange={(e) => {
      const g = gates.find((x) => `${x.name}@${x.version}` === e.target.value);
      if (g) onPick(JSON.stringify(g.spec, null, 2));
    }} aria-label="saved gates">
      <option value="">saved gates…</option>
      {gates.map((g) => <option key={`${g.name}@${g.version}`} value={`${g.name}@${g.version}`}>{g.name} v{g.version}</option>)}
    </select>
  );
}

/** Each criterion's verdict with its reason, as the command line prints them. */
export function CriteriaVerdicts({ result }: { result: GateResult }) {
  return (
    <ul className="plain">
      {result.criteria.map((c, i) => <li key={i}><strong className={`verdict-${c.verdict}`}>{c.verdict}</strong> — {c.criterion}: <span className="muted">{c.reason}</span></li>)}
    </ul>
  );
}
