import { ESLint } from 'eslint';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/workspace.js';

const eslint = new ESLint({ cwd: REPO });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it('refuse engine code in the renderer', async () => {
    expect(await layerErrors('renderer/src/pages/Bad.tsx', "import { createEngine } from '../../../electron/engine/engine.js';\nexport const e = createEngine;\n"))
      .toEqual([expect.stringContaining('the renderer imports shared/ only')]);
    expect(await layerErrors('renderer/src/bad.ts', "import fs from 'node:fs';\nexport const f = fs;\n")).toHaveLength(1);
  });

  it('refuse Node built-ins and our other layers in shared/', async () => {
    expect(await layerErrors('shared/domain/bad.ts', "import fs from 'node:fs';\nexport const f = fs;\n")).toEqual([expect.stringContaining('no Node built-ins')]);
    expect(await layerErrors('shared/domain/bad.ts', "import { openWorkspace } from '../../electron/engine/db/workspace.js';\nexport const o = openWorkspace;\n")).toHaveLength(1);
  });

  it('refuse electron in the engine', async () => {
    expect(await layerErrors('electron/engine/bad.ts', "import { app } from 'electron';\nexport const a = app;\n")).toEqual([expect.stringContaining('never imports electron')]);
  });

  it('allow what the design allows', async () => {
    expect(await layerErrors('renderer/src/ok.ts', "import { methods } from '../../shared/contract/methods.js';\nexport const m = methods;\n")).toEqual([]);
    expect(await layerErrors('electron/engine/ok.ts', "import fs from 'node:fs';\nimport { methods } from '../../shared/contract/methods.js';\nexport const x = [fs, methods];\n")).toEqual([]);
  });

  it('make node:fs unresolvable for the shared/ type check', () => {
    const dir = tempDir('sbw-layer-');
    const file = path.join(dir, 'bad.ts');
    fs.writeFileSync(file, "import fs from 'node:fs';\nexport const f = fs;\n");
    const config = ts.getParsedCommandLineOfConfigFile(path.join(REPO, 'shared', 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const program = ts.createProgram([file], { ...config.options, composite: false, noEmit: true, emitDeclarationOnly: false, declaration: false });
    const messages = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(messages.some((m) => m.includes("Cannot find module 'node:fs'"))).toBe(true);
  });
});
