import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SETTINGS_READ } from './config';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('./bin.ts', import.meta.url));

/** Every variable config.ts reads (the standard AWS_* ones are the SDK's, named by the line on aws: KMS). */
const variables = SETTINGS_READ.filter((name) => !name.startsWith('AWS_'));

describe('pnpm service --help', () => {
  it.each(['--help', '-h'])('%s prints the usage and every variable the service reads, exit 0, with no configuration at all', (flag) => {
    // No VC_* at all: without the flag, the service would refuse to start (no VC_AUTH_* is set).
    const run = spawnSync(process.execPath, ['--import', 'tsx', BIN, flag], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: pnpm service \[--help\]\n/);
    expect(variables.length).toBeGreaterThan(10);
    expect(variables.filter((name) => !new RegExp(`\\b${name}\\b`).test(run.stdout))).toEqual([]);
  });

  it('names the probe and document routes the service serves (there is no /health)', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', BIN, '--help'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
    });
    const named = [...run.stdout.matchAll(/(?<![\w/])\/(healthz|readyz|health|metrics|openapi\.json|docs)\b/g)].map((m) => m[1]);
    expect(named).toEqual(['healthz', 'readyz', 'metrics', 'openapi.json', 'docs']);
  });

  it('without the flag and without configuration, the service still refuses to start (exit 2)', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', BIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('VC_AUTH_JWKS_URL');
  });
});
