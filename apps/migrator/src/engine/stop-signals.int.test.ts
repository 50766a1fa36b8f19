import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTarget, type CsvTarget } from '../testing/csv-target';
import { runMigrator } from '../testing/run-cli';

/**
 * Stopping a run the two ways an operator does: Ctrl-C at a real terminal (a pseudo-terminal made by
 * util-linux `script`, so the keystroke goes through the line discipline and the progress spinner is
 * on), and a supervisor's SIGTERM to the `pnpm migrator` wrapper. Both must end the run
 * that holds the lock, resumable: the same command afterwards finishes with exit 0.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const AS_OF = '2026-11-01T00:00:00Z';
const S1 = ['phase', 's1', '--tenant', 'acme', '--as-of', AS_OF, '--batch-size', '20', '--max-reject-rate', '0.2'];

let target: CsvTarget;
let client: pg.Client;
let env: Record<string, string>;

beforeAll(async () => {
  target = await openCsvTarget('vc-stop-', { tenants: 1, sessions: 300, auditPerSession: 4, seed: 77, asOf: AS_OF });
  ({ client, env } = target);
});

afterAll(async () => target?.close());

async function stepRead(step: string): Promise<{ status: string; read: number } | undefined> {
  const { rows } = await client.query(`select status, read from vc_migration.step_checkpoints where tenant_id = 'acme' and phase = 's1' and step_id = $1`, [
    step,
  ]);
  return rows[0];
}

/** Polls until `ready` holds or `finished` says the process is gone; false if it ended first. */
async function until(ready: () => Promise<boolean>, finished: () => boolean): Promise<boolean> {
  while (!finished()) {
    if (await ready()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

const midStep = async () => {
  const row = await stepRead('1.4');
  return row !== undefined && row.status === 'running' && row.read >= 60;
};

function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', VC_LOG_LEVEL: 'warn', ...env };
}

describe('stopping a run', () => {
  it('Ctrl-C at a terminal stops s1 after the batch (exit 1, resumable) and the same command then finishes', async () => {
    // A terminal of a real size: the spinner is on, as at an operator's desk.
    const command = ['stty cols 120 rows 40; exec node', 'apps/migrator/bin/migrator.mjs', ...S1].join(' ');
    const tty = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    tty.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let code: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => tty.on('close', (c) => resolve((code = c))));
    expect(await until(midStep, () => code !== undefined)).toBe(true);
    tty.stdin.write('\x03');
    expect(await exited, output).toBe(1);
    expect(output).toContain('SIGINT: finishing the current batch');
    // The exact command to type again: the launcher (node and the executable, as `script` ran it) and the same argv.
    expect(output).toContain(`interrupted; run the same command again to resume: node apps/migrator/bin/migrator.mjs ${S1.join(' ')}`);
    tty.stdin.end();
    expect((await stepRead('1.4'))!.status).not.toBe('done');
    const resumed = await runMigrator(S1, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await stepRead('1.4'))!.status).toBe('done');
  }, 300_000);

  it("a supervisor's SIGTERM to `pnpm migrator` stops the node process that holds the lock, and the restart is not refused", async () => {
    await client.query(`truncate vc_migration.step_checkpoints`);
    const wrapper = spawn('pnpm', ['migrator', ...S1], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    wrapper.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let gone = false;
    const closed = new Promise<void>((resolve) => wrapper.on('close', () => resolve(void (gone = true))));
    expect(await until(midStep, () => gone)).toBe(true);
    wrapper.kill('SIGTERM');
    // The run stops between batches and lets go of its lock (a PostgreSQL advisory lock), whatever pnpm does.
    const lockHeld = async () =>
      (
        await client.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`,
        )
      ).rows[0].n > 0;
    expect(
      await until(
        async () => !(await lockHeld()),
        () => false,
      ),
    ).toBe(true);
    // Started through the package script, so that is the command to resume with.
    await closed;
    expect(stderr).toContain(`interrupted; run the same command again to resume: pnpm migrator ${S1.join(' ')}`);
    // The step's own line says INTERRUPTED, never FAILED: CI log scanners take FAILED for a failure.
    expect(stderr).toMatch(/1\.4 [^\n]*: INTERRUPTED — interrupted after \d+ rows; run again to resume/);
    expect(stderr).not.toContain('FAILED');
    const restart = await runMigrator(S1, env);
    expect(restart.code, `${restart.stderr}\n${stderr}`).toBe(0);
    expect(restart.stderr).not.toContain('holds the lock');
  }, 300_000);
});
