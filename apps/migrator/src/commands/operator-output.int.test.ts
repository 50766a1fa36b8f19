import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTarget, type CsvTarget } from '../testing/csv-target';
import { runMigrator, runMigratorJson } from '../testing/run-cli';

/**
 * What an operator reads: driver faults as one line naming the variable (exit 2, no stack, no password),
 * the step table at the end of a phase and `--summary` in three formats, plain lines without a terminal,
 * one live row per tenant at a terminal, where Ctrl-C still stops the run resumable.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const AS_OF = '2026-11-01T00:00:00Z';
const TABLE_HEADER = /^tenant +step +status +read +written +rejected +warnings +deferred +time +rate$/m;

let target: CsvTarget;
let bare: TestDatabase;

interface StepJson {
  tenant: string;
  id: string;
  status: string;
  read: number;
  written: number;
  rejected: number;
  warnings: number;
  deferred: number;
  durationMs: number;
}

beforeAll(async () => {
  [target, bare] = await Promise.all([
    openCsvTarget('vc-operator-', { tenants: 3, sessions: 120, auditPerSession: 4, seed: 41, asOf: AS_OF }),
    createTestDatabase({ migrated: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([target?.close(), bare?.drop()]);
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const s1 = (...extra: string[]) => ['phase', 's1', '--as-of', AS_OF, '--max-reject-rate', '0.5', ...extra];
const tenants = () => Object.keys(target.expected.tenants).sort();
const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);

describe('driver faults are one line naming what to fix (exit 2)', () => {
  it.each([['status'], ['phase', 's1', '--tenant', 'acme']])('`%s` before s0 says S0 has not run and what to run', async (...args) => {
    const run = await runMigrator(args, { ...target.env, VC_DATABASE_URL: bare.url });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      'migrator: the target database (VC_DATABASE_URL) has no migration state: phase s0 has not run on it. Run `pnpm migrator phase s0` first',
    );
    expect(run.stderr).not.toContain('does not exist');
    noStack(run.stderr);
  });

  it('an unreachable target names VC_DATABASE_URL and host:port, without its password', async () => {
    const port = await closedPort();
    const run = await runMigrator(s1('--tenant', tenants()[0]!), { ...target.env, VC_DATABASE_URL: `postgres://vc:hunter2@127.0.0.1:${port}/virtual_care` });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `migrator: cannot reach VC_DATABASE_URL at 127.0.0.1:${port} (connection refused): check the variable and that the server is up\n`,
    );
    expect(`${run.stdout}${run.stderr}`).not.toContain('hunter2');
    noStack(run.stderr);
  });

  it('an unreachable legacy database names VC_LEGACY_DATABASE_URL, without its password', async () => {
    const port = await closedPort();
    const { VC_LEGACY_EXPORT_DIR: _csv, ...env } = target.env;
    const run = await runMigrator(s1('--tenant', tenants()[0]!), {
      ...env,
      VC_LEGACY_DATABASE_URL: `mysql://legacy:hunter2@127.0.0.1:${port}/digital_communication`,
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`migrator: cannot reach VC_LEGACY_DATABASE_URL at 127.0.0.1:${port} (connection refused)`);
    expect(`${run.stdout}${run.stderr}`).not.toContain('hunter2');
    noStack(run.stderr);
  });
});

describe('the end-of-phase summary', () => {
  const rowOf = (s: StepJson) => ({
    tenant: s.tenant,
    step: s.id,
    status: s.status,
    read: s.read,
    written: s.written,
    rejected: s.rejected,
    warnings: s.warnings,
    deferred: s.deferred,
  });

  it('a wrong --summary extension is a usage error before anything runs', async () => {
    const run = await runMigrator(s1('--tenant', tenants()[0]!, '--summary', join(target.work, 'summary.txt')), target.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the file must end in .md, .json or .csv');
    expect((await target.client.query(`select count(*)::int as n from vc_migration.runs`)).rows[0].n).toBe(0);
    expect(existsSync(join(target.work, 'summary.txt'))).toBe(false);
  });

  it('prints the step table on stderr and writes the same rows as .json, .csv and .md', async () => {
    const [first, second, third] = tenants();
    const files = { json: join(target.work, 's.json'), csv: join(target.work, 's.csv'), md: join(target.work, 's.md') };
    const runs = {
      json: await runMigratorJson<{ steps: StepJson[] }>(s1('--tenant', first!, '--summary', files.json), target.env),
      csv: await runMigratorJson<{ steps: StepJson[] }>(s1('--tenant', second!, '--dry-run', '--summary', files.csv), target.env),
      md: await runMigratorJson<{ steps: StepJson[] }>(s1('--tenant', third!, '--summary', files.md), target.env),
    };
    for (const run of Object.values(runs)) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(TABLE_HEADER);
      for (const s of run.json.steps)
        expect(run.stderr).toMatch(
          new RegExp(
            `^${s.tenant} +${s.id.replace('.', '\\.')} +${s.status} +${s.read} +${s.written} +${s.rejected} +${s.warnings} +${s.deferred} +[\\d.]+s +\\d+/s$`,
            'm',
          ),
        );
    }

    const json = JSON.parse(readFileSync(files.json, 'utf8')) as {
      phase: string;
      dryRun: boolean;
      rows: Array<ReturnType<typeof rowOf> & { seconds: number; rate: number }>;
    };
    expect([json.phase, json.dryRun]).toEqual(['s1', false]);
    expect(json.rows.slice(0, -1).map(({ seconds: _s, rate: _r, ...row }) => row)).toEqual(runs.json.json.steps.map(rowOf));
    expect(json.rows.at(-1)).toMatchObject({ tenant: 'total', read: runs.json.json.steps.reduce((n, s) => n + s.read, 0) });

    const csv = readFileSync(files.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('tenant,step,status,read,written,rejected,warnings,deferred,seconds,rate');
    expect(csv.slice(1, -1).map((line) => line.split(',').slice(0, 8).join(','))).toEqual(runs.csv.json.steps.map((s) => Object.values(rowOf(s)).join(',')));

    const md = readFileSync(files.md, 'utf8');
    expect(md).toMatch(/^# phase s1, as of 2026-11-01T00:00:00.000Z: done$/m);
    expect(md).toContain('| tenant | step | status | read | written | rejected | warnings | deferred | time | rate |');
    for (const s of runs.md.json.steps)
      expect(md).toMatch(
        new RegExp(
          `^\\| ${s.tenant} \\| ${s.id.replace('.', '\\.')} \\| ${s.status} \\| ${s.read} \\| ${s.written} \\| ${s.rejected} \\| ${s.warnings} \\| ${s.deferred} \\|`,
          'm',
        ),
      );
  });
});

describe('progress', () => {
  it('without a terminal: plain lines per tenant and step, JSON logs, no escape sequences', async () => {
    // A dry run from the first step: every tenant's steps run again, inside a transaction rolled back.
    const run = await runMigrator(s1('--all-tenants', '--dry-run', '--restart-step', '1.1'), { ...target.env, VC_LOG_LEVEL: 'info' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('\x1b');
    for (const tenant of tenants())
      expect(run.stderr).toMatch(new RegExp(`^s1 ${tenant} 1\\.4 Backfill SessionParticipant rows from historical audit logs: done — \\d+ read`, 'm'));
    for (const line of run.stderr.split('\n').filter((l) => l.startsWith('{'))) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('at a terminal: one live row per tenant, no JSON log line, and Ctrl-C stops the run after the batch, resumable', async () => {
    const args = s1('--all-tenants', '--batch-size', '20');
    const command = ['stty cols 120 rows 40; exec node', 'apps/migrator/bin/migrator.mjs', ...args].join(' ');
    const tty = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', VC_LOG_LEVEL: 'info', ...target.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    tty.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let code: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => tty.on('close', (c) => resolve((code = c))));
    const midRun = async () =>
      (await target.client.query(`select 1 from vc_migration.step_checkpoints where phase = 's1' and step_id = '1.4' and status = 'running' and read >= 40`))
        .rowCount! > 0;
    while (code === undefined && !(await midRun())) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(code, output).toBeUndefined();
    tty.stdin.write('\x03');
    expect(await exited, output).toBe(1);
    tty.stdin.end();
    // Each tenant's row, redrawn in place (cursor up, erase below), never a JSON log line.
    for (const tenant of tenants()) expect(output).toMatch(new RegExp(`${tenant} +(waiting|1\\.\\d)`));
    expect(output).toContain('\x1b[J');
    expect(output).not.toContain('{"level"');
    expect(output).toContain('SIGINT: finishing the current batch');
    expect(output).toContain('interrupted; run the same command again to resume');
    const resumed = await runMigrator(args, target.env);
    expect(resumed.code, resumed.stderr).toBe(0);
  }, 300_000);
});
