import type { Command } from 'commander';
import type { PiiSettings } from '../shared/contract/methods.js';
import type { CliKit } from './cli-models.js';
import { collect } from './cli-args.js';

/**
 * `shadowbench settings show|pii`: the workspace's PII rules (on top of the built-ins) and the
 * columns every import drops, for pipelines that set up a workspace before importing into it.
 * Changes are audited by the engine like the Settings page's.
 */
export function registerSettingsCommands(program: Command, kit: CliKit): void {
  const settings = program.command('settings').description("the workspace's settings: PII rules and columns always dropped");
  const print = (pii: PiiSettings): void => {
    kit.out(pii.rules.length === 0 ? 'PII rules: only the built-ins\n' : `PII rules (besides the built-ins):\n${pii.rules.map((r) => `  ${r.name}  ${r.pattern}\n`).join('')}`);
    kit.out(`columns always dropped: ${pii.dropColumns.join(', ') || 'none'}\n`);
  };

  settings.command('show')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; json?: boolean }) => kit.withWorkspace(opts.workspace, async (engine) => {
      const { pii } = await engine.call('settings.get', {});
      if (opts.json) return kit.out(JSON.stringify({ pii }) + '\n');
      print(pii);
    }));

  settings.command('pii')
    .description('add or remove PII rules and dropped columns; applies to imports from now on (data already imported is not scrubbed again)')
    .requiredOption('--workspace <path>', 'workspace file')
    .option('--add-rule <name=regex>', 'redact matches of a JavaScript regular expression as [redacted:name] (repeatable)', collect, [])
    .option('--remove-rule <name>', 'remove a rule (repeatable)', collect, [])
    .option('--drop-column <column>', 'never store this source column (repeatable)', collect, [])
    .option('--keep-column <column>', 'stop dropping this column (repeatable)', collect, [])
    .option('--json', 'print one JSON document')
    .action(async (opts: { workspace: string; addRule: string[]; removeRule: string[]; dropColumn: string[]; keepColumn: string[]; json?: boolean }) => {
      const added = opts.addRule.map((pair) => {
        const eq = pair.indexOf('=');
        if (eq <= 0 || eq === pair.length - 1) kit.fail(2, `--add-rule takes NAME=REGEX, got "${pair}"`);
        return { name: pair.slice(0, eq), pattern: pair.slice(eq + 1) };
      });
      if (added.length + opts.removeRule.length + opts.dropColumn.length + opts.keepColumn.length === 0) kit.fail(2, 'nothing to change: give --add-rule, --remove-rule, --drop-column or --keep-column (or `settings show`)');
      return kit.withWorkspace(opts.workspace, async (engine) => {
        const { pii } = await engine.call('settings.get', {});
        for (const name of opts.removeRule) if (!pii.rules.some((r) => r.name === name)) kit.fail(2, `--remove-rule ${name}: no such rule; rules: ${pii.rules.map((r) => r.name).join(', ') || 'none'}`);
        for (const col of opts.keepColumn) if (!pii.dropColumns.includes(col)) kit.fail(2, `--keep-column ${col}: it is not dropped; dropped: ${pii.dropColumns.join(', ') || 'none'}`);
        for (const r of added) if (pii.rules.some((x) => x.name === r.name) && !opts.removeRule.includes(r.name)) kit.fail(2, `--add-rule ${r.name}: a rule of that name exists (remove it first, in the same command if you like)`);
        const next: PiiSettings = {
          rules: [...pii.rules.filter((r) => !opts.removeRule.includes(r.name)), ...added],
          dropColumns: [...new Set([...pii.dropColumns.filter((c) => !opts.keepColumn.includes(c)), ...opts.dropColumn])],
        };
        // The engine compiles each pattern and refuses a bad one by name; nothing is saved then.
        const saved = (await engine.call('settings.setPii', next)).pii;
        if (opts.json) return kit.out(JSON.stringify({ pii: saved }) + '\n');
        print(saved);
      });
    });
}
