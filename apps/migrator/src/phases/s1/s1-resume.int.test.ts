import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCsvExport, type ExpectedCounts } from '@vc/fixtures';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedS1, pgQuery, s1Counts, s1Snapshot } from '../../testing/counts';
import { runMigrator, startMigrator, type CliResult } from '../../testing/run-cli';

/**
 * Exactly-once under interruption (docs/design.md §6): S1 killed at several points — SIGKILL mid-batch, SIGTERM
 * between batches — and resumed ends with the tables a clean run gives. Also: a second concurrent run of
 * the same tenant and phase is refused. Small batches over a generated CSV export make many commit points.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const BATCH = '40';

let work: string;
let expected: ExpectedCounts;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vc-s1-resume-'));
  ({ expected } = await writeCsvExport(join(work, 'csv'), { tenants: 2, sessions: 1_000, auditPerSession: 4, seed: 4242, asOf: new Date(AS_OF) }));
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

async function freshTarget(): Promise<{ env: Record<string, string>; client: pg.Client }> {
  const db = await createTestDatabase();
  databases.push(db);
  const env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_EXPORT_DIR: join(work, 'csv'),
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  const client = new pg.Client({ connectionString: db.url });
  // Dropping the database at the end terminates this connection; that is expected, not a failure.
  client.on('error', () => undefined);
  await client.connect();
  return { env, client };
}

const s1 = (tenant: string) => ['phase', 's1', '--tenant', tenant, '--as-of', AS_OF, '--batch-size', BATCH, '--max-reject-rate', '0.2'];

interface Interruption {
  step: string;
  /** Interrupt once the step's committed `read` reaches this. */
  atRead: number;
  signal: 'SIGKILL' | 'SIGTERM';
}

/** Starts S1, waits until the checkpoint says the run is where `at` wants it, and signals it. */
async function interruptAt(client: pg.Client, env: Record<string, string>, tenant: string, at: Interruption): Promise<CliResult & { interrupted: boolean }> {
  const run = startMigrator([...s1(tenant), '--json'], env);
  let finished = false;
  void run.done.then(() => (finished = true));
  while (!finished) {
    const { rows } = await client.query(`select read, status from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = $2`, [
      tenant,
      at.step,
    ]);
    if (rows[0] && rows[0].read >= at.atRead && rows[0].status === 'running') {
      run.child.kill(at.signal);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const result = await run.done;
  return { ...result, interrupted: result.signal === 'SIGKILL' || (at.signal === 'SIGTERM' && result.code === 1) };
}

describe('s1 interrupted and resumed', () => {
  it('killed (SIGKILL) and stopped (SIGTERM) at several points, then resumed, ends with exactly the tables of a clean run', async () => {
    const clean = await freshTarget();
    const resumed = await freshTarget();
    try {
      expect((await runMigrator(s1('acme'), clean.env)).code).toBe(0);
      const points: Interruption[] = [
        { step: '1.1', atRead: 80, signal: 'SIGKILL' },
        { step: '1.1', atRead: 300, signal: 'SIGTERM' },
        { step: '1.4', atRead: 200, signal: 'SIGKILL' },
        // A stop lands while a batch commits and the next is already looked up (1.4 is pipelined).
        { step: '1.4', atRead: 600, signal: 'SIGTERM' },
        { step: '1.4', atRead: 1200, signal: 'SIGKILL' },
      ];
      const outcomes: string[] = [];
      for (const point of points) {
        const result = await interruptAt(resumed.client, resumed.env, 'acme', point);
        outcomes.push(`${point.step}@${point.atRead} ${result.interrupted ? 'interrupted' : `ran to exit ${result.code}`}`);
        if (point.signal === 'SIGTERM' && result.interrupted) expect(JSON.parse(result.stdout).status).toBe('interrupted');
      }
      // Interruptions land where the checkpoints say, so every one of them hits a running step.
      expect(outcomes).toEqual(points.map((p) => `${p.step}@${p.atRead} interrupted`));
      const last = await runMigrator(s1('acme'), resumed.env);
      expect(last.code, last.stderr).toBe(0);
      expect(await s1Snapshot(pgQuery(resumed.client))).toEqual(await s1Snapshot(pgQuery(clean.client)));
      expect(await s1Counts(pgQuery(resumed.client), 'acme')).toEqual(expectedS1(expected.tenants.acme!));
    } finally {
      await clean.client.end();
      await resumed.client.end();
    }
  }, 600_000);

  it('--all-tenants (tenants side by side) killed mid-run in both tenants, then resumed, ends with exactly the tables of a clean run', async () => {
    const clean = await freshTarget();
    const resumed = await freshTarget();
    const all = ['phase', 's1', '--all-tenants', '--as-of', AS_OF, '--batch-size', BATCH, '--max-reject-rate', '0.2'];
    try {
      expect((await runMigrator(all, clean.env)).code).toBe(0);
      const run = startMigrator(all, resumed.env);
      let finished = false;
      void run.done.then(() => (finished = true));
      // Killed once both tenants have committed batches of 1.1 (they run at the same time) and neither is done.
      while (!finished) {
        const { rows } = await resumed.client.query(
          `select tenant_id, read, status from vc_migration.step_checkpoints where phase = 's1' and step_id = '1.1' order by tenant_id`,
        );
        if (rows.length === 2 && rows.every((r: { read: number; status: string }) => r.read >= 80 && r.status === 'running')) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');
      const last = await runMigrator(all, resumed.env);
      expect(last.code, last.stderr).toBe(0);
      expect(await s1Snapshot(pgQuery(resumed.client))).toEqual(await s1Snapshot(pgQuery(clean.client)));
    } finally {
      await clean.client.end();
      await resumed.client.end();
    }
  }, 600_000);

  it('a second concurrent s1 for the same tenant is refused with a clear message, and the first one finishes', async () => {
    const target = await freshTarget();
    try {
      const first = startMigrator(s1('globex'), target.env);
      for (;;) {
        const { rows } = await target.client.query(
          `select read from vc_migration.step_checkpoints where tenant_id = 'globex' and phase = 's1' and step_id = '1.1'`,
        );
        if (rows[0]?.read > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Paused mid-run, the first process still holds its lock however long the second takes to start.
      first.child.kill('SIGSTOP');
      const second = await runMigrator(s1('globex'), target.env);
      first.child.kill('SIGCONT');
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('another migrator run holds the lock of tenant globex phase s1');
      const done = await first.done;
      expect(done.code, done.stderr).toBe(0);
      expect(await s1Counts(pgQuery(target.client), 'globex')).toEqual(expectedS1(expected.tenants.globex!));
    } finally {
      await target.client.end();
    }
  }, 300_000);
});
