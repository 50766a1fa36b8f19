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
