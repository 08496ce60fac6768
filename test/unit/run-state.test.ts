import { describe, expect, it } from 'vitest';
import { unfinishedReason } from '../../shared/domain/run-state.js';

describe('why a run cannot be judged', () => {
  it('names the run, its state and its error, and nothing for a finished run', () => {
    expect(unfinishedReason({ id: 4, state: 'failed', error: 'the model threw on every row' }, 'a report needs a finished run')).toBe('Run 4 is failed (the model threw on every row); a report needs a finished run');
    expect(unfinishedReason({ id: 2, state: 'cancelled', error: 'cancelled' }, 'a drill re-runs a finished run', 'detection')).toBe('Detection run 2 is cancelled; a drill re-runs a finished run');
    expect(unfinishedReason({ id: 7, state: 'running', error: null }, 'x')).toBe('Run 7 is running; x');
    expect(unfinishedReason({ id: 1, state: 'done', error: 'ignored' }, 'x')).toBeNull();
  });
});
