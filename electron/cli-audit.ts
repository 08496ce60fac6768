import type { Command } from 'commander';
import { resolveRun, runId, wholeNumber } from './cli-args.js';
import type { CliKit } from './cli-models.js';

/** `shadowbench audit verify|list`: the tamper-evident log from the command line. */
export function registerAuditCommands(program: Command, kit: CliKit): void {
  const audit = program.command('audit').description('the audit log: who did what, hash-chained');
  audit.command('verify')
    .description('recompute the hash chain: exit 0 with the entry count when intact, 1 naming the first bad entry')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--expect-head <head>', 'a head recorded outside the workspace ("#N <sha256>", as verify prints it): the chain must still hold it (the check a rewrite of every hash cannot pass)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; expectHead?: string; json?: boolean }) => {
      const v = await kit.withWorkspace(opts.workspace, (engine) => engine.call('audit.verify', opts.expectHead ? { expectHead: opts.expectHead } : {}));
      if (opts.json) kit.out(JSON.stringify(v) + '\n');
      else if (v.ok) kit.out(`audit log intact: ${v.entries} entries; head ${v.head}${opts.expectHead ? ` (holds ${opts.expectHead.split(' ')[0]} as recorded)` : ''}\n`);
      else kit.out(`audit log BROKEN${v.firstBad !== null ? ` at entry #${v.firstBad}` : ''}: ${v.reason} (${v.entries} entries read)\n`);
      if (!v.ok) kit.fail(1, '');
    });
  audit.command('list')
    .description('the newest entries first')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--action <prefix>', 'only actions starting with this, e.g. model. or run.')
    .option('--limit <n>', 'how many', wholeNumber(1, 1000), 50)
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; action?: string; limit: number; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const page = await engine.call('audit.list', { limit: opts.limit, ...(opts.action ? { action: opts.action } : {}) });
      if (opts.json) return kit.out(JSON.stringify(page) + '\n');
      for (const e of page.rows) kit.out(`#${String(e.seq).padEnd(5)} ${new Date(e.ts).toISOString().slice(0, 19)}Z  ${e.actor.padEnd(12)} ${e.action.padEnd(18)} ${e.subject}\n`);
      kit.out(`${page.rows.length} of ${page.total} entries\n`);
    }));
}

/** `shadowbench feedback add|list`: human judgements on suggestions from the command line. */
export function registerFeedbackCommands(program: Command, kit: CliKit, findModel: (engine: Parameters<Parameters<CliKit['withWorkspace']>[1]>[0], name: string) => Promise<{ id: number }>): void {
  const feedback = program.command('feedback').description('agree, disagree or override a suggestion, with a reason');
  feedback.command('add')
    .requiredOption('--workspace <path>', 'workspace file')
    .requiredOption('--run <id>', 'change-risk run (an id, or "latest")', runId)
    .requiredOption('--model <name|id>', 'the model whose suggestion it is')
    .requiredOption('--change <id>', "the change's id (as imported)")
    .requiredOption('--verdict <v>', 'agree | disagree | override')
    .option('--decision <d>', 'for override: "hold back" or "let through"')
    .requiredOption('--reason <text>', 'why (required)')
    .option('--author <name>', 'who (default: the OS user)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; run: number; model: string; change: string; verdict: string; decision?: string; reason: string; author?: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const model = await findModel(engine, opts.model);
      const change = await findChange(engine, opts.change);
      if (!change) kit.fail(2, `No change "${opts.change}" in the workspace`);
      const f = await engine.call('feedback.add', { runId: await resolveRun(engine, opts.run, kit), modelId: model.id, changeId: change.id, verdict: opts.verdict, reason: opts.reason, ...(opts.decision ? { decision: opts.decision } : {}), ...(opts.author ? { author: opts.author } : {}) });
      if (opts.json) return kit.out(JSON.stringify(f) + '\n');
      kit.out(`recorded: ${f.verdict}${f.decision ? ` (${f.decision})` : ''} by ${f.author} on ${opts.change}\n`);
    }));
}

async function findChange(engine: Parameters<Parameters<CliKit['withWorkspace']>[1]>[0], externalId: string): Promise<{ id: number } | undefined> {
  const total = (await engine.call('changes.page', { limit: 1 })).total;
  for (let offset = 0; offset < total; offset += 1000) {
    const hit = (await engine.call('changes.page', { offset, limit: 1000 })).rows.find((c) => c.externalId === externalId);
    if (hit) return hit;
  }
  return undefined;
}
