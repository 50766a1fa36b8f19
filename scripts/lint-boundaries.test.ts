// The package boundaries are lint rules (eslint.config.js). Each forbidden edge gets a probe file placed
// where it would live, linted with the workspace config: a rule that silently stops applying (a later
// config block replacing an earlier one, a relative escape the rule does not resolve) fails here.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './demo/settings';

interface Probe {
  edge: string;
  dir: string;
  source: string;
  rule: string;
}

const probes: Probe[] = [
  {
    edge: 'domain → node:fs',
    dir: 'packages/domain/src',
    source: "import { readFileSync } from 'node:fs';\nexport const probe = readFileSync;\n",
    rule: 'no-restricted-imports',
  },
  { edge: 'domain → pg', dir: 'packages/domain/src', source: "import pg from 'pg';\nexport const probe = pg;\n", rule: 'no-restricted-imports' },
  {
    edge: 'domain → @vc/schema',
    dir: 'packages/domain/src',
    source: "import * as schema from '@vc/schema';\nexport const probe = schema;\n",
    rule: 'no-restricted-imports',
  },
  {
    edge: 'domain → integrations (relative)',
    dir: 'packages/domain/src',
    source: "import * as integrations from '../../integrations/src/index';\nexport const probe = integrations;\n",
    rule: 'import-x/no-restricted-paths',
  },
  {
    edge: 'domain → migrator app (relative)',
    dir: 'packages/domain/src',
    source: "import * as config from '../../../apps/migrator/src/config';\nexport const probe = config;\n",
    rule: 'import-x/no-restricted-paths',
  },
  { edge: 'domain reads process.env', dir: 'packages/domain/src', source: 'export const probe = process.env.VC_MODE;\n', rule: 'no-restricted-globals' },
  {
    edge: 'schema → service app (relative)',
    dir: 'packages/schema/src',
    source: "import * as config from '../../../apps/service/src/config';\nexport const probe = config;\n",
    rule: 'import-x/no-restricted-paths',
  },
  {
    edge: 'config → service app (relative)',
    dir: 'packages/config/src',
    source: "import * as config from '../../../apps/service/src/config';\nexport const probe = config;\n",
    rule: 'import-x/no-restricted-paths',
  },
  {
    edge: 'integrations → migrator app (relative)',
    dir: 'packages/integrations/src',
    source: "import * as config from '../../../apps/migrator/src/config';\nexport const probe = config;\n",
    rule: 'import-x/no-restricted-paths',
  },
  {
    edge: 'service → migrator (relative)',
    dir: 'apps/service/src',
    source: "import * as config from '../../migrator/src/config';\nexport const probe = config;\n",
    rule: 'import-x/no-restricted-paths',
  },
  {
    edge: 'migrator → service (relative)',
    dir: 'apps/migrator/src',
    source: "import * as config from '../../service/src/config';\nexport const probe = config;\n",
    rule: 'import-x/no-restricted-paths',
  },
];

const written: string[] = [];
afterAll(() => {
  for (const file of written) rmSync(file, { force: true });
});

function writeProbe(dir: string, index: number, source: string): string {
  const file = join(REPO_ROOT, dir, `lint-probe-${process.pid}-${index}.ts`);
  writeFileSync(file, source);
  written.push(file);
  return file;
}

// The boundary rules read no type information (import-x resolves paths with its own TypeScript resolver), so the
// type-aware rules are switched off, last, and with them the typed parse: that built the TypeScript program of each
// package a probe sits in, 40 of this file's 45 s. `pnpm lint` runs them; the boundary blocks apply as configured.
describe('package boundaries', { timeout: 300_000 }, () => {
  const eslint = new ESLint({ cwd: REPO_ROOT, overrideConfig: tseslint.configs.disableTypeChecked });

  it.each(probes.map((probe, index) => ({ ...probe, index })))('lint refuses $edge', async ({ dir, source, rule, index }) => {
    const [result] = await eslint.lintFiles([writeProbe(dir, index, source)]);
    expect(result!.messages.map((m) => m.ruleId)).toContain(rule);
  });

  it('lets the allowed edges through (an app importing the packages)', async () => {
    const source = "import * as domain from '@vc/domain';\nimport * as schema from '@vc/schema';\nexport const probe = [domain, schema];\n";
    const [result] = await eslint.lintFiles([writeProbe('apps/migrator/src', probes.length, source)]);
    expect(result!.messages.filter((m) => m.ruleId?.startsWith('import-x') || m.ruleId === 'no-restricted-imports')).toEqual([]);
  });
});
