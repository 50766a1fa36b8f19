import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedFixture } from './testing/embedded-fixture';
import { pgliteAfterS0 } from './testing/pglite-after-s0';
import { migratorArgv, runMigratorJson } from './testing/run-cli';

/** `migrator … | head -n 0` and `… --json | true`: the reader of stdout (or stderr) is gone before the migrator writes. */
const { dir, env } = embeddedFixture('vc-pipe-');

function runIntoClosedPipe(args: string[], closed: 'stdout' | 'both') {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, migratorArgv(args), {
      env: { PATH: process.env.PATH, VC_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.destroy();
    if (closed === 'both') child.stderr.destroy();
    else child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

beforeAll(async () => {
  await pgliteAfterS0(`${dir}/pg`);
}, 300_000);

describe('output into a closed pipe', () => {
  it('`status | head -n 0` ends quietly with its own exit code, no EPIPE stack', async () => {
    const result = await runIntoClosedPipe(['status'], 'stdout');
    expect(result.stderr).not.toMatch(/Unhandled 'error' event|EPIPE|\n\s+at /);
    expect(result.code).toBe(0);
  }, 60_000);

  it('`phase s1 --json | true` finishes the phase and writes its ledger end row (no UNFINISHED run), exit 0', async () => {
    const result = await runIntoClosedPipe(['phase', 's1', '--tenant', 'acme', '--max-reject-rate', '0.2', '--json'], 'stdout');
    expect(result.stderr).not.toMatch(/Unhandled 'error' event|EPIPE|\n\s+at /);
    expect(result.stderr).toMatch(/ledger: row \d+ recorded \(phase s1, exit 0\)/);
    expect(result.code).toBe(0);
    const ledger = await runMigratorJson<{ unfinished: number[]; rows: Array<{ entry: { command: string; event: string; exitCode?: number } }> }>(
      ['ledger', 'show'],
      env,
    );
    expect(ledger.json.unfinished).toEqual([]);
    expect(ledger.json.rows.filter((r) => r.entry.command === 'phase s1').map((r) => [r.entry.event, r.entry.exitCode])).toEqual([
      ['start', undefined],
      ['end', 0],
    ]);
  }, 120_000);

  it('a failing run into closed stdout and stderr still exits with its own code (2), not a crash', async () => {
    const result = await runIntoClosedPipe(['phase', 's1', '--tenant', 'acmee'], 'both');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(2);
  }, 60_000);
});
