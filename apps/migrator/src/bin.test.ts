import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runMigrator } from './testing/run-cli';

// The real entry point in a child process: the exit code and stdout are what a CI script reads.
describe('bin: --json on a usage error', { timeout: 60_000 }, () => {
  it('prints exactly one JSON object naming the error, and exits 2', async () => {
    const run = await runMigrator(['phase', 's1', '--tenant', 'acme', '--bogus', '--json'], {});
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({ status: 'error', exitCode: 2, error: "unknown option '--bogus'" });
    expect(run.stderr).toContain("unknown option '--bogus'");
  });

  it('prints nothing on stdout without --json', async () => {
    const run = await runMigrator(['phase', 's1', '--tenant', 'acme', '--bogus'], {});
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
  });
});

describe('bin: --version', { timeout: 60_000 }, () => {
  // What a change record quotes (runbooks/README.md): the package's version, no configuration needed.
  const expected = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const run = await runMigrator([flag], {});
    expect(run.code, run.stderr).toBe(0);
    expect(expected).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.stdout).toBe(`${expected}\n`);
    expect(run.stderr).toBe('');
  });
});
