import { useEffect, useState } from 'react';
import { DEFAULT_DETECTOR_THRESHOLD, type AddDetectorInput } from '../../../shared/contract/detection.js';
import { MODEL_NAME } from '../../../shared/contract/models.js';
import { messageOf } from '../client/client.js';
import { useStore } from '../store.js';

type Kind = 'static' | 'zscore' | 'ewma' | 'week-over-week';

const KIND_HELP: Record<Kind, string> = {
  static: 'Fires when a metric stays above (or below) a value for some steps: the alerting rule most teams already have.',
  zscore: 'How far each point is from the mean of the points before it, in standard deviations.',
  ewma: 'Like the z-score, against an exponentially weighted mean and variance (quicker to follow a drifting baseline).',
  'week-over-week': 'How far each point is from the same time a week earlier, standardised: for metrics with a weekly rhythm.',
};


/**
 * A built-in detector from the app (it was command-line only, so a new workspace could not run
 * detection from here at all). The engine checks the metric against the workspace and names what
 * is wrong; the form only shapes the spec.
 */
export function AddDetectorForm({ open }: { open: boolean }) {
  const client = useStore((s) => s.client);
  const refreshModels = useStore((s) => s.refreshModels);
  const [metrics, setMetrics] = useState<string[]>([]);
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('zscore');
  const [metric, setMetric] = useState('');
  const [value, setValue] = useState('');
  const [direction, setDirection] = useState('up');
  const [steps, setSteps] = useState('3');
  const [window, setWindow] = useState('288');
  const [alpha, setAlpha] = useState('0.02');
  const [threshold, setThreshold] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (!client) return;
    void client.call('metrics.list', {}).then((list) => {
      setMetrics(list);
      setMetric((m) => m || list[0] || '');
    }).catch(() => setMetrics([]));
  }, [client]);

  const spec = (): AddDetectorInput['spec'] => {
    if (kind === 'static') return { kind, metric, value: Number(value), direction: direction === 'below' ? 'below' : 'above', steps: Number(steps) };
    const dir = direction === 'down' || direction === 'both' ? direction : 'up';
    if (kind === 'ewma') return { kind, metrics: [metric], alpha: Number(alpha), direction: dir };
    return { kind, metrics: [metric], window: Number(window), direction: dir };
  };
  const submit = async (): Promise<void> => {
    if (!client) return;
    setMessage(null);
    try {
      const m = await client.call('detectors.add', { name, spec: spec(), ...(threshold !== '' ? { threshold: Number(threshold) } : {}) });
      await refreshModels();
      setMessage({ ok: true, text: `Added ${m.name} v${m.version}: ${m.description}` });
    } catch (err) {
      setMessage({ ok: false, text: messageOf(err) });
    }
  };
  const nameOk = MODEL_NAME.test(name);
  const ready = nameOk && metric !== '' && (kind !== 'static' || (value.trim() !== '' && Number.isFinite(Number(value))));
  return (
    <details className="card form" open={open} data-testid="add-detector">
      <summary><h2 className="inline">Add a detector</h2></summary>
      <p className="muted small">{KIND_HELP[kind]}</p>
      <form onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <div className="form-row">
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={64} placeholder="e.g. latency-z" data-testid="detector-name" /></label>
          <label>Kind
            <select value={kind} onChange={(e) => { const k = e.target.value as Kind; setKind(k); setDirection(k === 'static' ? 'above' : 'up'); }} data-testid="detector-kind">
              <option value="static">static threshold</option><option value="zscore">rolling z-score</option><option value="ewma">EWMA</option><option value="week-over-week">week over week</option>
            </select>
          </label>
          <label>Metric
            {metrics.length === 0 ? <span className="muted small"> no telemetry imported yet</span> : (
              <select value={metric} onChange={(e) => setMetric(e.target.value)} data-testid="detector-metric">
                {metrics.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
            )}
          </label>
        </div>
        <div className="form-row">
          {kind === 'static' ? <>
            <label>Fires when it is
              <select value={direction} onChange={(e) => setDirection(e.target.value)}><option value="above">above</option><option value="below">below</option></select>
            </label>
            <label>Value <input value={value} onChange={(e) => setValue(e.target.value)} inputMode="decimal" style={{ width: 90 }} data-testid="detector-value" /></label>
            <label>for <input value={steps} onChange={(e) => setSteps(e.target.value)} inputMode="numeric" style={{ width: 60 }} /> steps</label>
          </> : <>
            <label>Direction
              <select value={direction} onChange={(e) => setDirection(e.target.value)}><option value="up">up</option><option value="down">down</option><option value="both">both</option></select>
            </label>
            {kind === 'ewma'
              ? <label>Smoothing α <input value={alpha} onChange={(e) => setAlpha(e.target.value)} inputMode="decimal" style={{ width: 70 }} /></label>
              : <label>Baseline <input value={window} onChange={(e) => setWindow(e.target.value)} inputMode="numeric" style={{ width: 80 }} /> steps</label>}
          </>}
          <label>Alert at <input value={threshold} onChange={(e) => setThreshold(e.target.value)} placeholder={String(DEFAULT_DETECTOR_THRESHOLD[kind])} inputMode="decimal" style={{ width: 70 }} data-testid="detector-threshold" /> {kind === 'static' ? '' : 'σ'}</label>
          <button className="primary" disabled={!ready} data-testid="detector-add">Add detector</button>
        </div>
        {!nameOk && name !== '' && <p className="error-text small">A name is 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit.</p>}
        {message && <p className={`small ${message.ok ? 'ok-text' : 'error-text'}`} role={message.ok ? 'status' : 'alert'} data-testid="detector-message">{message.text}</p>}
      </form>
    </details>
  );
}
