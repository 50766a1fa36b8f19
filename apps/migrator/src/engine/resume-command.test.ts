import { describe, expect, it } from 'vitest';
import { resumeCommand } from './resume-command';

const ARGS = ['phase', 's1', '--tenant', 'acme', '--as-of', '2026-11-01T00:00:00Z'];
const argv = (entry: string, ...args: string[]) => ['/usr/bin/node', entry, ...args];

describe('the command that resumes an interrupted run', () => {
  it('is `pnpm migrator` and the same arguments when pnpm started it', () => {
    const env = { npm_lifecycle_event: 'migrator', npm_config_user_agent: 'pnpm/12.4.2 npm/? node/v20.19.0 linux x64' };
    expect(resumeCommand(env, argv('/repo/apps/migrator/bin/migrator.mjs', ...ARGS), [], '/repo')).toBe(
      'pnpm migrator phase s1 --tenant acme --as-of 2026-11-01T00:00:00Z',
    );
  });

  it('is `npm run migrator --` under npm', () => {
    const env = { npm_lifecycle_event: 'migrator', npm_config_user_agent: 'npm/10.8.2 node/v20.19.0 linux x64' };
    expect(resumeCommand(env, argv('/repo/apps/migrator/bin/migrator.mjs', 'phase', 's0'), [], '/repo')).toBe('npm run migrator -- phase s0');
  });

  it('is node, its flags and the entry file (relative to the working directory) otherwise', () => {
    expect(resumeCommand({}, argv('/repo/apps/migrator/bin/migrator.mjs', ...ARGS), [], '/repo')).toBe(
      'node apps/migrator/bin/migrator.mjs phase s1 --tenant acme --as-of 2026-11-01T00:00:00Z',
    );
    expect(resumeCommand({}, argv('/repo/apps/migrator/src/bin.ts', 'phase', 's0'), ['--import', 'tsx'], '/repo')).toBe(
      'node --import tsx apps/migrator/src/bin.ts phase s0',
    );
  });

  it('quotes what a shell would split or expand, and never shows a secret-looking flag value', () => {
    const args = ['phase', 's4', '--tenant', 'acme', '--force', '--reason', "CHG-1: globex's own change", '--api-token', 'abc', '--sign-key=k1'];
    expect(resumeCommand({}, argv('/r/bin.mjs', ...args), [], '/r')).toBe(
      `node bin.mjs phase s4 --tenant acme --force --reason 'CHG-1: globex'\\''s own change' --api-token <secret> --sign-key=<secret>`,
    );
  });
});
