import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedFixture } from '../testing/embedded-fixture';
import { pgliteAfterS0 } from '../testing/pglite-after-s0';
import { runMigrator, startMigrator, type RunningCli } from '../testing/run-cli';

/**
 * SIGINT, SIGTERM and SIGHUP to the commands beside `phase` and `worker`: the first stops the command at its own
 * safe point, says so and exits 1 (interrupted, as documented); a second stops at once. On the embedded target
 * (PGlite + the CSV fixture), whose unreachable access-policy keeps the checks busy long enough to be interrupted.
 */
const fixture = embeddedFixture('vc-interrupt-');
const { dir } = fixture;
const env = { ...fixture.env, VC_KONG_FILE: `${dir}/kong.yaml` };

/** The command has opened the target (its signal handling is in place before that): its PGlite lock file is there. */
async function opened(run: RunningCli): Promise<void> {
  const lock = `${dir}/pg.migrator.lock`;
  // This run's lock (a killed run's stale one names a pid that is gone).
  const mine = () => existsSync(lock) && readFileSync(lock, 'utf8').includes(`"pid":${run.child.pid},`);
  while (!mine()) {
    if (run.child.exitCode !== null) throw new Error(`ended before opening the target: ${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}

beforeAll(async () => {
  await pgliteAfterS0(`${dir}/pg`);
}, 300_000);

describe('interrupting validate and evidence', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'validate on %s stops the checks, says so and exits 1, recording no verdict or report',
    async (signal) => {
      const out = join(dir, `reports-${signal}`);
      const run = startMigrator(['validate', '--all-tenants', '--out', out], env);
      await opened(run);
      run.child.kill(signal);
      const result = await run.done;
      expect(result.signal).toBeNull();
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`${signal}: stopping the checks`);
      expect(result.stderr).toContain(`validate interrupted (${signal}): no verdict recorded, no report written`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    },
    120_000,
  );

  it('a second signal stops validate at once', async () => {
    const run = startMigrator(['validate', '--all-tenants', '--out', join(dir, 'reports-twice')], env);
    await opened(run);
    run.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.signal === 'SIGINT' || result.code === 130).toBe(true);
  }, 120_000);

  it('evidence on SIGINT exits 1 and leaves no --out folder, partial folder or archive behind', async () => {
    const out = join(dir, 'packs', 'acme');
    const run = startMigrator(['evidence', '--tenant', 'acme', '--out', out], env);
    await opened(run);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('evidence interrupted (SIGINT): no pack written');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tar.gz`)).toBe(false);
    expect(existsSync(join(dir, 'packs')) ? readdirSync(join(dir, 'packs')) : []).toEqual([]);
  }, 120_000);

  it('evidence --out <non-empty folder> is exit 2 at once, before the validation runs, without a stack', async () => {
    // Inside the fixture's directory, removed with it.
    const out = mkdtempSync(join(dir, 'evidence-out-'));
    writeFileSync(join(out, 'x'), 'x');
    const started = Date.now();
    const result = await runMigrator(['evidence', '--tenant', 'acme', '--out', out], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--out ${out} is not empty`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // The validation against an unreachable access-policy takes far longer than the refusal.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(readdirSync(out)).toEqual(['x']);
  }, 60_000);
});

describe('interrupting rollback s4', () => {
  it('before the routing is changed: exit 1, nothing applied', async () => {
    const run = startMigrator(['rollback', 's4', '--all-tenants'], env);
    await opened(run);
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.signal).toBeNull();
    // Nothing is in force here, so the rollback may have finished before the signal: never a kill, never 143.
    expect([0, 1]).toContain(result.code);
    expect(existsSync(`${dir}/kong.yaml`)).toBe(false);
  }, 60_000);
});
