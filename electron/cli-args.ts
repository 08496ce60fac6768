import { InvalidArgumentError } from 'commander';
import writeFileAtomic from 'write-file-atomic';
import type { Engine } from './engine/engine.js';
import type { CliKit } from './cli-models.js';

/**
 * Parsers for numeric options: commander runs them while reading the command line, so a bad value
 * stops the command before it opens a workspace or starts a job, with the flag and value named.
 */

export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`give a whole number from ${min} to ${max}`);
    return n;
  };
}

export function decimal(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`give a number from ${min} to ${max}`);
    return n;
  };
}

/** A repeatable option's values, in the order given. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A run's id, as `runs list` shows it, or "latest" (0 here until `resolveRun` looks it up). */
export const runId = (value: string): number => {
  if (value === 'latest') return 0;
  if (!/^\d{1,12}$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('give a run id (see `shadowbench runs list`) or "latest"');
  return Number(value);
};

/** `--run latest`: the newest finished change-risk run that is not a drill, so a pipeline need not parse ids. */
export async function resolveRun(engine: Engine, id: number, kit: Pick<CliKit, 'fail'>): Promise<number> {
  if (id !== 0) return id;
  const latest = (await engine.call('runs.list', {})).filter((r) => r.task === 'change-risk' && r.state === 'done' && !r.config.drill).sort((a, b) => b.id - a.id)[0];
  return latest ? latest.id : kit.fail(2, '--run latest: no finished change-risk run yet');
}

/** How a job ended, for an error line: a cancelled job has no error message, and says so. */
export function jobEnd(job: { state: string; error?: { message: string } | null | undefined }): string {
  return `${job.state}${job.error?.message ? `: ${job.error.message}` : job.state === 'cancelled' ? ' (the workspace is as it was)' : ''}`;
}

/**
 * Writes an output file whole or not at all (a temporary file renamed into place): a full disk or a
 * killed process must not leave a cut-off report that looks like a finished one.
 */
export function writeOutput(file: string, content: string | Buffer, kit: CliKit): void {
  try {
    writeFileAtomic.sync(file, content);
  } catch (err) {
    kit.fail(2, `Could not write ${file}: ${(err as Error).message}`);
  }
}
