import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeCommands } from './demo/readme-commands';
import { REPO_ROOT } from './demo/settings';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** Every variable an app's config module reads (its `SETTINGS_READ`, the fields its zod schema is built from); AWS_* are the SDK's, documented apart. */
async function configVariables(app: string): Promise<string[]> {
  const { SETTINGS_READ } = (await import(join(REPO_ROOT, 'apps', app, 'src', 'config.ts'))) as { SETTINGS_READ: readonly string[] };
  return [...new Set(SETTINGS_READ.filter((name) => !name.startsWith('AWS_')))].sort();
}

describe('README', () => {
  it('opens with the two commands a newcomer runs: the demo, then the tests', () => {
    expect(readmeCommands(readme)).toEqual(['npm run demo', 'npm test']);
  });

  it('names npm scripts that run the zero-dependency demo and test entry points (pnpm runs the same)', () => {
    expect(packageJson.scripts.demo).toBe('node scripts/demo.mjs');
    expect(packageJson.scripts.test).toBe('node scripts/test.mjs');
  });

  it.each(['service', 'migrator'])('documents every environment variable the %s reads, with its default', async (app) => {
    const variables = await configVariables(app);
    expect(variables.length).toBeGreaterThan(5);
    const undocumented = variables.filter((name) => !new RegExp(`^\\| \`${name}\` \\|[^|]+\\|[^|]+\\|`, 'm').test(readme));
    expect(undocumented).toEqual([]);
  });

  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]!).filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    const missing = links.filter((link) => {
      try {
        readFileSync(join(REPO_ROOT, link));
        return false;
      } catch {
        return true;
      }
    });
    expect(missing).toEqual([]);
  });
});

describe('readmeCommands', () => {
  it('takes the lines of the first fenced block, without comments or blank lines', () => {
    const markdown = 'intro\n\n```sh\nnpm run demo   # the demo\n\n# a note\nnpm test\n```\n\n```sh\nother\n```\n';
    expect(readmeCommands(markdown)).toEqual(['npm run demo', 'npm test']);
  });

  it('fails naming what it expected when there is no code block', () => {
    expect(() => readmeCommands('no code here')).toThrow('expected a fenced code block');
  });
});
