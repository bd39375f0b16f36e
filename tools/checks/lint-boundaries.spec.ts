import { ESLint } from 'eslint';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layers of docs/ARCHITECTURE.md §1 are held by ESLint's @nx/enforce-module-boundaries (the
// scope tags of each project.json, eslint.config.mjs). These lint source text as if it were a file
// of a project, to show that the rule is on and refuses what the layers forbid.
const root = resolve(__dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(filePath: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: resolve(root, filePath) });
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries (ESLint)', () => {
  it('keeps libs/domain free of packages: a Nest import is refused, its own files are fine', async () => {
    expect(await boundaryErrors('libs/domain/src/probe.ts', "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n")).toEqual([
      expect.stringContaining('not allowed to import "@nestjs/common"'),
    ]);
    expect(await boundaryErrors('libs/domain/src/probe.ts', "import { money } from './money/money';\nexport const x = money;\n")).toEqual([]);
  });

  it('lets the domain tests use their runners only', async () => {
    expect(
      await boundaryErrors('libs/domain/src/probe.spec.ts', "import { it } from 'vitest';\nimport fc from 'fast-check';\nexport const x = [it, fc];\n"),
    ).toEqual([]);
    expect(await boundaryErrors('libs/domain/src/probe.spec.ts', "import React from 'react';\nexport const x = React;\n")).not.toEqual([]);
  });

  it('refuses a library importing an app, and contracts importing the generated client', async () => {
    expect(
      await boundaryErrors('libs/contracts/src/probe.ts', "import { loadConfig } from '../../../apps/api/src/config';\nexport const x = loadConfig;\n"),
    ).not.toEqual([]);
    expect(
      await boundaryErrors('libs/contracts/src/probe.ts', "import { createApiClient } from '@virtuoso/api-client';\nexport const x = createApiClient;\n"),
    ).not.toEqual([]);
  });

  it('lets the API use the domain and the contracts, and the SPA the domain and the client', async () => {
    expect(
      await boundaryErrors(
        'apps/api/src/probe.ts',
        "import { money } from '@virtuoso/domain';\nimport { MachineDto } from '@virtuoso/contracts';\nexport const x = [money, MachineDto];\n",
      ),
    ).toEqual([]);
    expect(
      await boundaryErrors(
        'apps/web/src/probe.ts',
        "import { money } from '@virtuoso/domain';\nimport { createApiClient } from '@virtuoso/api-client';\nexport const x = [money, createApiClient];\n",
      ),
    ).toEqual([]);
  });
});
