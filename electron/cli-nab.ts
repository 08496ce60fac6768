import type { Command } from 'commander';
import { jobEnd } from './cli-args.js';
import { NAB_PROFILE_NAMES } from '../shared/metrics/nab.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scoreDetector } from './engine/nab/corpus.js';
import { nabToCsv } from './engine/nab/import.js';
import type { CliKit } from './cli-models.js';

/** `shadowbench nab`: scores one detector's results in NAB's layout against the corpus labels. */
export function registerNabCommand(program: Command, out: (t: string) => void, kit?: CliKit): void {
  if (kit) {
    program.command('nab-import')
      .description('import NAB corpus files as telemetry (one service per file, metric "value") and their windows as incidents')
      .requiredOption('--corpus <dir>', 'NAB corpus folder')
      .requiredOption('--workspace <path>', 'workspace file (created if missing)')
      .option('--files <list>', 'comma-separated corpus files, e.g. realKnownCause/nyc_taxi.csv (default: all 58)')
      .option('--json', 'print one JSON document: the two import reports')
      .action(async (opts: { corpus: string; workspace: string; files?: string; json?: boolean }) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbw-nab-'));
        try {
          const csv = nabToCsv(opts.corpus, opts.files?.split(',').map((f) => f.trim()).filter(Boolean), dir);
          if (!fs.existsSync(opts.workspace)) kit.warn(`creating workspace ${opts.workspace}\n`);
          const reports: unknown[] = [];
          await kit.withWorkspace(opts.workspace, async (engine) => {
            for (const [file, kind] of [[csv.telemetry, 'telemetry'], [csv.incidents, 'incidents']] as const) {
              // NAB timestamps carry no zone; they are read as UTC.
              const { jobId } = await engine.call('import.startPath', { path: file, kind, timeZone: 'UTC' });
              const job = await kit.runJob(engine, jobId);
              if (job.state !== 'done') kit.fail(2, `import of ${kind} ${jobEnd(job)}`);
              reports.push(job.result);
              if (!opts.json) kit.out(`${(job.result as { message: string }).message}\n`);
            }
          }, { create: true });
          if (opts.json) kit.out(JSON.stringify(reports) + '\n');
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
  }
  program.command('nab')
    .description("score one detector's NAB results (results/<detector>/<category>/<detector>_<file>.csv) against the corpus windows, per profile")
    .requiredOption('--corpus <dir>', 'NAB corpus folder (with labels/combined_windows.json and data/)')
    .requiredOption('--results <dir>', "one detector's results folder; its name is the detector's")
    .option('--thresholds <file>', "NAB's config/thresholds.json: score at the detector's stored thresholds")
    .option('--optimize', 'find the best threshold per profile by an exhaustive sweep (the default without --thresholds)')
    .option('--json', 'one JSON document on stdout')
    .action((opts: { corpus: string; results: string; thresholds?: string; optimize?: boolean; json?: boolean }) => {
      if (opts.thresholds && opts.optimize) {
        if (kit) kit.fail(2, 'give --thresholds or --optimize, not both');
        throw new Error('give --thresholds or --optimize, not both');
      }
      const report = scoreDetector(opts.corpus, opts.results, { thresholdsFile: opts.optimize ? undefined : opts.thresholds });
      if (opts.json) {
        out(`${JSON.stringify({
          detector: report.detector, scores: report.scores, thresholds: report.thresholds, thresholdSource: report.thresholdSource,
          raw: Object.fromEntries(report.profiles.map((p) => [p.profile, p.raw])),
          counts: Object.fromEntries(report.profiles.map((p) => [p.profile, { ...p.counts, detectedWindows: p.detectedWindows, windows: p.windows }])),
        }, null, 2)}\n`);
        return;
      }
      out(`${report.detector}: NAB scores over ${report.profiles[0]?.perSeries.length ?? 0} files, ${report.profiles[0]?.windows ?? 0} windows (${report.thresholdSource === 'given' ? 'stored thresholds' : 'optimised thresholds'})\n`);
      for (const name of NAB_PROFILE_NAMES) {
        const p = report.profiles.find((r) => r.profile === name)!;
        out(`  ${name.padEnd(20)} ${p.score === null ? 'undefined' : p.score.toFixed(4).padStart(9)}   threshold ${p.threshold}   raw ${p.raw.toFixed(4)}   windows detected ${p.detectedWindows}/${p.windows}, false-positive rows ${p.counts.fp}\n`);
      }
    });
}
