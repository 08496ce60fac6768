import { Command, CommanderError, Option } from 'commander';
import { collect, jobEnd, wholeNumber } from './cli-args.js';
import fs from 'node:fs';
import path from 'node:path';
import { IMPORT_FORMATS, RECORD_KINDS, type ImportReport, type JobStatus } from '../shared/contract/records.js';
import { createEngine, VERSION, type Engine } from './engine/engine.js';
import { EngineFailure } from './engine/errors.js';
import { parseTimestamp } from '../shared/domain/time.js';
import { MAPPING_NAME, type SavedMapping } from '../shared/contract/methods.js';
import { findModel, registerModelCommands, type CliKit } from './cli-models.js';
import { registerNabCommand } from './cli-nab.js';
import { registerRunCommands } from './cli-run.js';
import { registerSettingsCommands } from './cli-settings.js';
import { registerDetectionCommands } from './cli-detection.js';
import { registerGateCommands, registerRetrainCommands } from './cli-gates.js';
import { registerAuditCommands, registerFeedbackCommands } from './cli-audit.js';
import { registerDrillCommands } from './cli-drills.js';
import { startServer } from './hosts/http.js';
import { defaultWorkspacesDir, RENDERER_DIR, SAMPLE_DATA_DIR } from './hosts/paths.js';

/**
 * `shadowbench`: the engine in-process. Exit codes (DESIGN.md §9): 0 ok, 1 a check failed,
 * 2 usage or input error, 3 inconclusive. Human summaries on stdout, or one JSON document with
 * --json; progress on stderr.
 */

export const EXIT = { ok: 0, checkFailed: 1, usage: 2, inconclusive: 3 } as const;

class CliExit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
};

function parseMap(pairs: string[]): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.lastIndexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new CliExit(EXIT.usage, `--map takes COLUMN=FIELD, got "${pair}"`);
    const column = pair.slice(0, eq);
    const field = pair.slice(eq + 1);
    // A second --map for a column once replaced the first without a word.
    const before = mapping[column];
    if (before !== undefined && before !== field) throw new CliExit(EXIT.usage, `--map gives column "${column}" twice (${before}, ${field}); a column feeds one field, or several written ${column}=${before}+${field}`);
    mapping[column] = field;
  }
  return mapping;
}

function progressPrinter(io: Io): (job: JobStatus) => void {
  let last = 0;
  return (job) => {
    const now = Date.now();
    if (job.state === 'running' && now - last < (io.isTTY ? 200 : 2000)) return;
    last = now;
    const pct = job.progress.fraction === null ? '' : `${(job.progress.fraction * 100).toFixed(0).padStart(3)}% `;
    const rate = job.progress.rowsPerSecond ? ` ${Math.round(job.progress.rowsPerSecond).toLocaleString('en-US')} rows/s` : '';
    const eta = job.progress.etaSeconds !== null && job.state === 'running' ? ` ~${Math.ceil(job.progress.etaSeconds)}s left` : '';
    const line = `${job.label}: ${pct}${job.progress.message}${rate}${eta}`;
    if (io.isTTY) io.err(`\r\x1b[2K${line}${job.state === 'running' ? '' : '\n'}`);
    else if (job.state === 'running') io.err(`${line}\n`);
  };
}

// The signal that cancelled a job of this command, if one did: the command then exits 130 (SIGINT)
// or 143 (SIGTERM), as a shell reports them, so a script tells Ctrl-C from a bad file (2).
let cancelledBy: NodeJS.Signals | null = null;

async function runJob(engine: Engine, jobId: string, io: Io): Promise<JobStatus> {
  const print = progressPrinter(io);
  const stop = engine.onEvent((event) => {
    if (event.job.id === jobId) print(event.job);
  });
  // Ctrl-C cancels the job (the workspace is left as it was), a second one exits at once. SIGTERM
  // (what CI sends on a timeout or a cancelled pipeline) does the same as the first Ctrl-C.
  const onSignal = (signal: NodeJS.Signals): void => {
    io.err(`\ncancelling (${signal})…\n`);
    cancelledBy = signal;
    engine.jobs.cancel(jobId);
    process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await engine.jobs.wait(jobId);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stop();
  }
}

/** Whether a file starts like an SQLite database (its 16-byte header). */
function isSqliteFile(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(16);
      return fs.readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === 'SQLite format 3\0';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

function openOrCreate(engine: Engine, workspace: string, io: Io, create: boolean): Promise<unknown> {
  const exists = fs.existsSync(workspace);
  if (!exists && !create) throw new CliExit(EXIT.usage, `No workspace at ${workspace} (pass --create to make one)`);
  if (!exists) io.err(`creating workspace ${workspace}\n`);
  return engine.call('workspace.openPath', { path: workspace, create: !exists });
}

function describeReport(r: ImportReport): string {
  const lines = [r.message];
  // Scrubbing rewrites what is stored for good: say what it did, as the wizard does.
  const redacted = Object.entries(r.redactions ?? {}).filter(([, n]) => n > 0);
  if (redacted.length > 0) lines.push(`  redacted (PII rules): ${redacted.map(([rule, n]) => `${n} ${rule}`).join(', ')}`);
  // A field picked by column name when another column could have been it (ServiceNow's priority and severity).
  for (const a of r.alternatives ?? []) lines.push(`  ${a.field} from column "${a.column}"; ${a.others.map((c) => `"${c}"`).join(', ')} could also be it (--map COLUMN=${a.field} to choose)`);
  for (const bad of r.rejected.slice(0, 20)) lines.push(`  line ${bad.line}: ${bad.reason}`);
  if (r.rowsRejected > 20) lines.push(`  … and ${r.rowsRejected - 20} more`);
  return lines.join('\n') + '\n';
}

export function buildProgram(io: Io = defaultIo): Command {
  const program = new Command('shadowbench')
    .description('Shadow-mode experiments for AI models in operations: replay models over your own history and see whether they deserve trust.')
    .version(VERSION)
    .showHelpAfterError('(--help shows the options)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const workspacesDir = (): string => defaultWorkspacesDir();

  program.command('demo')
    .description('build the demo workspace from sample-data through the same importers a user would use')
    .requiredOption('--workspace <path>', 'workspace file to create (replaced if it exists)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => {
      // "Replaced if it exists" means an old workspace, not whatever file the path happens to name.
      if (fs.existsSync(opts.workspace) && !isSqliteFile(opts.workspace)) throw new CliExit(EXIT.usage, `${opts.workspace} exists and is not a workspace; refusing to replace it (give another path)`);
      const engine = createEngine({ workspacesDir: workspacesDir(), sampleDataDir: SAMPLE_DATA_DIR });
      try {
        const { jobId } = await engine.call('demo.build', { path: opts.workspace });
        const job = await runJob(engine, jobId, io);
        if (job.state !== 'done') throw new CliExit(EXIT.usage, job.error?.message ?? `demo build ${job.state}`);
        const info = await engine.call('workspace.openPath', { path: opts.workspace });
        if (opts.json) io.out(JSON.stringify(info) + '\n');
        else io.out(`Demo workspace ready at ${info.path}: ${info.counts.services} services, ${info.counts.points.toLocaleString('en-US')} points, ${info.counts.changes} changes, ${info.counts.incidents} incidents, ${info.counts.alerts} alerts\n`);
      } finally {
        engine.close();
      }
    });

  program.command('import')
    .description('import telemetry, changes, incidents, alerts or services: CSV, wide CSV, NDJSON, Prometheus JSON (or live with --prometheus), OTLP/JSON, GitHub deployments, Argo CD history (gzip accepted)')
    .requiredOption('--workspace <path>', 'workspace file')
    .addOption(new Option('--kind <kind>', 'what the file holds').choices(RECORD_KINDS).makeOptionMandatory())
    .addOption(new Option('--format <format>', 'file format (default: from the name and content)').choices(IMPORT_FORMATS))
    .option('--map <column=field>', 'map a column to a field (repeatable); "ignore" skips a column, FIELD+FIELD feeds two (created_on=started+detected)', collect, [])
    .addOption(new Option('--time-unit <unit>', 'unit of numeric timestamps').choices(['auto', 's', 'ms', 'us', 'ns']).default('auto'))
    .option('--time-format <format>', 'timestamps that are neither ISO 8601 nor epoch numbers: their date-fns format, e.g. "MM/dd/yyyy h:mm a" or "dd.MM.yyyy HH:mm"')
    .option('--time-zone <zone>', 'zone for timestamps without an offset: UTC, ±HH:MM, or a tz name like Europe/Berlin (daylight saving applied; abbreviations such as BST or EST are refused)')
    .option('--decimal-comma', 'numbers are written the European way, 1.234,5 (a comma for the decimal point, dots grouping thousands)')
    .option('--service <name>', 'service for files that have no service column')
    .option('--accept-valid-rows', 'import the valid rows of a file that has bad ones (default: refuse the whole file)')
    .option('--update-existing', 'changes and incidents already stored with other values take the file\'s (default: keep them and report them)')
    .option('--create', 'create the workspace if it does not exist')
    .option('--json', 'print one JSON document')
    .option('--service-label <label>', 'Prometheus: the label naming the service (default: service, job, app or instance)')
    .option('--metric-name <name>', 'Prometheus: metric name for series without __name__ (e.g. rate() results)')
    .option('--environment <name>', 'GitHub deployments: keep only the deployments to this environment (e.g. production)')
    .option('--mapping <name>', 'use a saved mapping (format, column mapping, time unit and zone, service, labels); flags given here override it')
    .option('--save-mapping <name>', 'save this import\'s mapping under a name (a new version if it exists)')
    .option('--dry-run', 'read and check the whole file, write nothing; exit 1 if any row would be rejected')
    .option('--prometheus <url>', 'import live from this Prometheus server (query_range, chunked by time) instead of files')
    .option('--query <promql>', 'with --prometheus: the PromQL query')
    .option('--from <time>', 'with --prometheus: start (ISO 8601 or epoch ms)')
    .option('--until <time>', 'with --prometheus: end (ISO 8601 or epoch ms; default now)')
    .option('--step <duration>', 'with --prometheus: resolution, e.g. 15s, 1m, 5m', '60s')
    .option('--user <name>', 'with --prometheus: basic-auth user (password from --password or $PROMETHEUS_PASSWORD)')
    .option('--password <password>', 'with --prometheus: basic-auth password')
    .option('--bearer <token>', 'with --prometheus: bearer token (or $PROMETHEUS_TOKEN)')
    .argument('[files...]')
    .action(async (files: string[], opts: { workspace: string; kind: (typeof RECORD_KINDS)[number]; format?: (typeof IMPORT_FORMATS)[number]; map: string[]; timeUnit: 'auto'; timeZone?: string; timeFormat?: string; decimalComma?: boolean; service?: string; acceptValidRows?: boolean; updateExisting?: boolean; create?: boolean; json?: boolean;
      serviceLabel?: string; metricName?: string; environment?: string; mapping?: string; saveMapping?: string; dryRun?: boolean; prometheus?: string; query?: string; from?: string; until?: string; step: string; user?: string; password?: string; bearer?: string }) => {
      if (opts.prometheus === undefined && files.length === 0) throw new CliExit(EXIT.usage, 'give the files to import, or --prometheus URL --query PROMQL --from TIME');
      if (opts.prometheus !== undefined && (files.length > 0 || !opts.query || !opts.from)) throw new CliExit(EXIT.usage, '--prometheus needs --query and --from (and no files)');
      if (opts.prometheus !== undefined && opts.kind !== 'telemetry') throw new CliExit(EXIT.usage, '--prometheus imports telemetry: use --kind telemetry');
      // Checked before the import, which a bad name would otherwise leave written behind an exit 2.
      if (opts.saveMapping !== undefined && !MAPPING_NAME.test(opts.saveMapping)) throw new CliExit(EXIT.usage, `--save-mapping ${opts.saveMapping}: a mapping name is 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit`);
      if (opts.prometheus === undefined) {
        const live = (['query', 'from', 'until', 'user', 'password', 'bearer'] as const).filter((k) => opts[k] !== undefined);
        if (live.length > 0) throw new CliExit(EXIT.usage, `${live.map((k) => `--${k}`).join(', ')} ${live.length === 1 ? 'is' : 'are'} for live imports: add --prometheus URL, or leave ${live.length === 1 ? 'it' : 'them'} out`);
      }
      // Every file is checked before anything is opened or created, so a typo leaves no empty workspace behind.
      for (const file of files) {
        let stat: fs.Stats;
        try {
          stat = fs.statSync(file);
        } catch (err) {
          throw new CliExit(EXIT.usage, `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
        }
        if (!stat.isFile()) throw new CliExit(EXIT.usage, `${file}: not a file`);
      }
      const engine = createEngine({ workspacesDir: workspacesDir() });
      const reports: ImportReport[] = [];
      try {
        await openOrCreate(engine, opts.workspace, io, opts.create ?? false);
        let saved: Partial<SavedMapping['options']> = {};
        if (opts.mapping) {
          const all = (await engine.call('mappings.list', {})).filter((m) => m.name === opts.mapping);
          if (all.length === 0) throw new CliExit(EXIT.usage, `--mapping ${opts.mapping}: no saved mapping by that name (saved: ${[...new Set((await engine.call('mappings.list', {})).map((m) => m.name))].join(', ') || 'none'})`);
          saved = all[all.length - 1]!.options;
          if (saved.kind !== opts.kind) throw new CliExit(EXIT.usage, `--mapping ${opts.mapping} is for ${saved.kind}, not ${opts.kind}`);
        }
        const mapping = { ...(saved.mapping ?? {}), ...parseMap(opts.map) };
        const extras = {
          ...(saved.serviceLabel ? { serviceLabel: saved.serviceLabel } : {}), ...(saved.metricName ? { metricName: saved.metricName } : {}),
          ...(opts.serviceLabel ? { serviceLabel: opts.serviceLabel } : {}), ...(opts.metricName ? { metricName: opts.metricName } : {}),
          ...(saved.environment ? { environment: saved.environment } : {}), ...(opts.environment ? { environment: opts.environment } : {}),
          ...(saved.dropColumns?.length ? { dropColumns: saved.dropColumns } : {}), ...(saved.piiRules?.length ? { piiRules: saved.piiRules } : {}),
          ...(opts.decimalComma || saved.decimalComma ? { decimalComma: true } : {}),
        };
        if (opts.format === undefined && saved.format) opts.format = saved.format;
        if (opts.timeZone === undefined && saved.timeZone) opts.timeZone = saved.timeZone;
        if (opts.timeFormat === undefined && saved.timeFormat) opts.timeFormat = saved.timeFormat;
        if (opts.service === undefined && saved.defaultService) opts.service = saved.defaultService;
        if (opts.timeUnit === 'auto' && saved.timeUnit) opts.timeUnit = saved.timeUnit as 'auto';
        if (opts.prometheus !== undefined) {
          const when = (v: string, flag: string): number => {
            const parsed = parseTimestamp(v, { unit: 'ms' });
            if (!parsed.ok) throw new CliExit(EXIT.usage, `${flag}: ${parsed.reason}`);
            return parsed.ms;
          };
          const step = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(opts.step);
          if (!step) throw new CliExit(EXIT.usage, `--step ${opts.step}: give a duration such as 15s, 1m or 1h`);
          const stepSeconds = Number(step[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as const)[(step[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
          if (!(stepSeconds > 0 && stepSeconds <= 86_400)) throw new CliExit(EXIT.usage, `--step ${opts.step}: give a duration above zero and at most a day, such as 15s, 1m or 1h`);
          const password = opts.password ?? process.env.PROMETHEUS_PASSWORD;
          const bearer = opts.bearer ?? process.env.PROMETHEUS_TOKEN;
          const { jobId } = await engine.call('import.prometheus', {
            url: opts.prometheus, query: opts.query!, from: when(opts.from!, '--from'), until: opts.until ? when(opts.until, '--until') : Date.now(), stepSeconds,
            mapping, timeUnit: 'ms', acceptValidRows: opts.acceptValidRows ?? false, ...extras,
            ...(opts.service ? { defaultService: opts.service } : {}), ...(opts.user ? { user: opts.user, ...(password ? { password } : {}) } : {}), ...(bearer ? { bearer } : {}),
          });
          const job = await runJob(engine, jobId, io);
          if (job.state !== 'done') throw new CliExit(EXIT.usage, `Prometheus import ${jobEnd(job)}`);
          reports.push(job.result as ImportReport);
          if (!opts.json) io.out(describeReport(job.result as ImportReport));
        }
        for (const [index, file] of files.entries()) {
          const { jobId } = await engine.call('import.startPath', {
            path: file, kind: opts.kind, mapping, timeUnit: opts.timeUnit, acceptValidRows: opts.acceptValidRows ?? false, updateExisting: opts.updateExisting ?? false,
            ...(opts.format ? { format: opts.format } : {}), ...(opts.timeZone ? { timeZone: opts.timeZone } : {}), ...(opts.timeFormat ? { timeFormat: opts.timeFormat } : {}),
            ...(opts.service ? { defaultService: opts.service } : {}), ...extras, dryRun: opts.dryRun ?? false,
          });
          const job = await runJob(engine, jobId, io);
          if (job.state === 'failed') throw new CliExit(EXIT.usage, `${path.basename(file)}: ${job.error?.message}`);
          if (job.state === 'cancelled') throw new CliExit(EXIT.usage, `${path.basename(file)}: cancelled; nothing was imported`);
          const report = job.result as ImportReport;
          reports.push(report);
          if (!opts.json) io.out(describeReport(report));
          if (report.status === 'refused') {
            // The files after a refused one are not tried (they often depend on it, as incidents on
            // changes): named, so nobody takes the silence for an import.
            const rest = files.slice(index + 1).map((f) => path.basename(f));
            if (rest.length > 0) io.err(`not tried after the refusal: ${rest.join(', ')}\n`);
            break;
          }
        }
        // Saved only once the file was accepted for real: a refused import or a dry run writes nothing.
        if (opts.saveMapping && opts.dryRun) io.err(`--save-mapping ${opts.saveMapping}: not saved on a dry run (run it again without --dry-run)\n`);
        else if (opts.saveMapping && reports.length > 0 && reports.every((r) => r.status !== 'refused')) {
          const m = await engine.call('mappings.save', { name: opts.saveMapping, options: {
            kind: opts.kind, mapping, timeUnit: opts.timeUnit, ...(opts.format ? { format: opts.format } : {}), ...(opts.timeZone ? { timeZone: opts.timeZone } : {}), ...(opts.timeFormat ? { timeFormat: opts.timeFormat } : {}),
            ...(opts.service ? { defaultService: opts.service } : {}), ...extras,
          } });
          if (!opts.json) io.out(`saved mapping ${m.name} v${m.version}\n`);
        }
      } finally {
        engine.close();
      }
      if (opts.json) io.out(JSON.stringify(reports.length === 1 ? reports[0] : reports) + '\n');
      if (reports.some((r) => r.status === 'refused')) throw new CliExit(EXIT.usage, '');
      if (opts.dryRun && reports.some((r) => r.rowsRejected > 0)) throw new CliExit(EXIT.checkFailed, '');
    });

  program.command('info')
    .description('what a workspace holds')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => {
      const engine = createEngine({ workspacesDir: workspacesDir() });
      try {
        const info = await engine.call('workspace.openPath', { path: opts.workspace });
        const sources = await engine.call('sources.list', {});
        if (opts.json) io.out(JSON.stringify({ ...info, sources }) + '\n');
        else {
          io.out(`${info.path} (schema ${info.schemaVersion})\n`);
          for (const [k, v] of Object.entries(info.counts)) io.out(`  ${k.padEnd(10)} ${v.toLocaleString('en-US')}\n`);
          if (info.range) io.out(`  from ${new Date(info.range.from).toISOString()} to ${new Date(info.range.until).toISOString()}\n`);
        }
      } finally {
        engine.close();
      }
    });

  const sources = program.command('sources').description('the imports of a workspace: list them, or undo one');

  sources.command('list')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const list = await engine.call('sources.list', {});
      if (opts.json) return kit.out(JSON.stringify(list.map(({ report: _report, ...s }) => s)) + '\n');
      if (list.length === 0) return kit.out('no imports yet\n');
      for (const s of list) {
        kit.out(`${String(s.id).padStart(4)}  ${s.kind.padEnd(15)} ${new Date(s.importedAt).toISOString().slice(0, 16).replace('T', ' ')}  ${s.rowsAccepted.toLocaleString('en-US').padStart(10)} rows  ${s.fileName}${s.rowsRejected ? `  (${s.rowsRejected.toLocaleString('en-US')} rejected)` : ''}\n`);
      }
    }));

  sources.command('delete')
    .description('undo an import of changes, incidents, alerts or logged scores: its rows go, and the corrected file can be imported again (not telemetry or services, nor changes a run has scored; the reason is said)')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--source <id>', 'import id (see `sources list`)', wholeNumber(1, Number.MAX_SAFE_INTEGER))
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; source: number; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const r = await engine.call('sources.delete', { id: opts.source });
      if (opts.json) return kit.out(JSON.stringify(r) + '\n');
      kit.out(`deleted import ${r.id} (${r.kind} from ${r.fileName}): ${r.rows.toLocaleString('en-US')} ${r.rows === 1 ? r.what.slice(0, -1) : r.what} removed\n`);
    }));

  program.command('compact')
    .description('give the space of deleted runs back to the disk (rewrites the workspace file; needs as much free space as the file takes)')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const c = await engine.call('workspace.compact', {});
      if (opts.json) return kit.out(JSON.stringify(c) + '\n');
      kit.out(`compacted: ${(c.bytesBefore / 1e6).toFixed(1)} MB → ${(c.bytesAfter / 1e6).toFixed(1)} MB\n`);
    }));

  program.command('backup')
    .description('copy a workspace into one consistent file, safely while it is in use (a copy of the .sbw alone misses what is still in its -wal)')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--out <file>', 'the backup file (never overwritten)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; out: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const b = await engine.call('workspace.backupPath', { path: opts.out });
      if (opts.json) return kit.out(JSON.stringify(b) + '\n');
      kit.out(`backed up to ${b.path} (${(b.bytes / 1e6).toFixed(1)} MB); audit head ${b.auditHead}\n`);
    }));

  // How long a command waits at its end for another program's write lock to write its audit entries
  // (SBW_AUDIT_WAIT_MS: tests use a short one).
  const auditWaitMs = (): number => Number(process.env.SBW_AUDIT_WAIT_MS ?? 120_000);
  const kit: CliKit = {
    out: io.out,
    warn: io.err,
    async withWorkspace(workspace, work, options = {}) {
      const engine = createEngine({ workspacesDir: workspacesDir() });
      let result: Awaited<ReturnType<typeof work>>;
      try {
        const exists = fs.existsSync(workspace);
        if (!exists && !options.create) throw new CliExit(EXIT.usage, `No workspace at ${workspace}`);
        await engine.call('workspace.openPath', { path: workspace, create: !exists });
        result = await work(engine);
      } catch (err) {
        engine.close({ waitMs: auditWaitMs(), onWait: io.err });
        throw err;
      }
      // What the command did happened; if its audit entries cannot be written, the command must not
      // look like a success (a gate verdict, a backup or an export nobody can find in the log).
      const { unwritten } = engine.close({ waitMs: auditWaitMs(), onWait: io.err });
      if (unwritten > 0) throw new CliExit(EXIT.usage, `${unwritten} audit ${unwritten === 1 ? 'entry' : 'entries'} of this command could not be written: ${workspace} stayed locked by another program for ${Math.round(auditWaitMs() / 1000)} s. What the command did stands, but the log does not show it; run it again once the other program is done`);
      return result;
    },
    runJob: (engine, jobId) => runJob(engine, jobId, io),
    fail(code, message) {
      throw new CliExit(code, message);
    },
  };
  registerModelCommands(program, kit);
  registerRunCommands(program, kit);
  registerDetectionCommands(program, kit);
  registerGateCommands(program, kit);
  registerRetrainCommands(program, kit);
  registerAuditCommands(program, kit);
  registerSettingsCommands(program, kit);
  registerDrillCommands(program, kit);
  registerFeedbackCommands(program, kit, (engine, name) => findModel(engine, name, kit));

  program.command('serve')
    .description('serve the app and its API on 127.0.0.1 (the browser shell)')
    .option('--workspace <path>', 'open this workspace at start')
    .option('--port <n>', 'port (default: any free one)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliExit(EXIT.usage, `--port takes a number from 0 to 65535, got "${v}"`);
      return n;
    })
    .option('--workspaces-dir <dir>', 'where named workspaces live', undefined)
    .option('--create', 'create the --workspace if it does not exist')
    .action(async (opts: { workspace?: string; port?: number; workspacesDir?: string; create?: boolean }) => {
      // As for every other command: a misspelt path is an error, not a new empty workspace.
      if (opts.workspace && !fs.existsSync(opts.workspace) && !opts.create) throw new CliExit(EXIT.usage, `No workspace at ${opts.workspace} (pass --create to make one)`);
      const engine = createEngine({ workspacesDir: opts.workspacesDir ?? workspacesDir(), sampleDataDir: SAMPLE_DATA_DIR, warmThreads: true });
      if (opts.workspace) await engine.call('workspace.openPath', { path: opts.workspace, create: !fs.existsSync(opts.workspace) });
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({ engine, rendererDir: RENDERER_DIR, ...(opts.port !== undefined ? { port: opts.port } : {}) });
      } catch (err) {
        // The engine's warm threads would keep the process alive after the error: close it first.
        engine.close();
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new CliExit(EXIT.usage, `port ${opts.port} on 127.0.0.1 is in use; choose another with --port, or leave --port out for a free one`);
        throw err;
      }
      io.out(`Shadowbench is serving on ${server.url}\n`);
      io.out('Open that URL in your browser (it carries this session\'s API token). Ctrl-C stops.\n');
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void server.close().then(() => {
            engine.close();
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  registerNabCommand(program, io.out, kit);

  return program;
}

/** Runs the CLI and returns the exit code, never calling process.exit itself (tests run it in-process). */
export async function runCli(argv: string[], io: Io = defaultIo): Promise<number> {
  const program = buildProgram(io);
  cancelledBy = null;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) io.err(`error: ${err.message}\n`);
      return cancelledBy && err.code === EXIT.usage ? (cancelledBy === 'SIGINT' ? 130 : 143) : err.code;
    }
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof EngineFailure) {
      io.err(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    // A file the system refused (no such folder, no permission, disk full) is the user's to fix: its
    // message names the path. Anything else is a bug here: say so, with the stack on request.
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && typeof e.syscall === 'string') io.err(`error: ${e.message}\n`);
    else io.err(`error: ${process.env.SHADOWBENCH_DEBUG ? e?.stack ?? String(err) : `${e?.message ?? String(err)} (an internal error; SHADOWBENCH_DEBUG=1 shows where)`}\n`);
    return EXIT.usage;
  }
}
