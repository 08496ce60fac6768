import type { Command } from 'commander';
import type { CliKit } from './cli-models.js';

/** `shadowbench audit verify|list`: the tamper-evident log from the command line. */
export function registerAuditCommands(program: Command, kit: CliKit): void {
  const audit = program.command('audit').description('the audit log: who did what, hash-chained');
  audit.command('verify')
    .description('recompute the hash chain: exit 0 with the entry count when intact, 1 naming the first bad entry')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => {
      const v = await kit.withWorkspace(opts.workspace, (engine) => engine.call('audit.verify', {}));
      if (opts.json) kit.out(JSON.stringify(v) + '\n');
      else if (v.ok) kit.out(`audit log intact: ${v.entries} entries; head ${v.head}\n`);
      else kit.out(`audit log BROKEN at entry #${v.firstBad}: ${v.reason} (${v.entries} entries read)\n`);
      if (!v.ok) kit.fail(1, '');
    });
  audit.command('list')
    .description('the newest entries first')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--action <prefix>', 'only actions starting with this, e.g. model. or run.')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; action?: string; limit: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const page = await engine.call('audit.list', { limit: Number(opts.limit), ...(opts.action ? { action: opts.action } : {}) });
      if (opts.json) return kit.out(JSON.stringify(page) + '\n');
      for (const e of page.rows) kit.out(`#${String(e.seq).padEnd(5)} ${new Date(e.ts).toISOString().slice(0, 19)}Z  ${e.actor.padEnd(12)} ${e.action.padEnd(18)} ${e.subject}\n`);
      kit.out(`${page.rows.length} of ${page.total} entries\n`);
    }));
}
