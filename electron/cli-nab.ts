import type { Command } from 'commander';
import { NAB_PROFILE_NAMES } from '../shared/metrics/nab.js';
import { scoreDetector } from './engine/nab/corpus.js';

/** `shadowbench nab`: scores one detector's results in NAB's layout against the corpus labels. */
export function registerNabCommand(program: Command, out: (t: string) => void): void {
  program.command('nab')
    .description("score one detector's NAB results (results/<detector>/<category>/<detector>_<file>.csv) against the corpus windows, per profile")
    .requiredOption('--corpus <dir>', 'NAB corpus folder (with labels/combined_windows.json and data/)')
    .requiredOption('--results <dir>', "one detector's results folder; its name is the detector's")
    .option('--thresholds <file>', "NAB's config/thresholds.json: score at the detector's stored thresholds")
    .option('--optimize', 'find the best threshold per profile by an exhaustive sweep (the default without --thresholds)')
    .option('--json', 'one JSON document on stdout')
    .action((opts: { corpus: string; results: string; thresholds?: string; optimize?: boolean; json?: boolean }) => {
      if (opts.thresholds && opts.optimize) throw Object.assign(new Error('give --thresholds or --optimize, not both'), { usage: true });
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
