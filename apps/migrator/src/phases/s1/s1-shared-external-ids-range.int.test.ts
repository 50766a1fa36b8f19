import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { createDatabase } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import mysql from 'mysql2/promise';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { runPhase } from '../../engine/run-phase';
import { createServices } from '../../engine/services';
import type { KeyRange } from '../../engine/types';
import { pgQuery } from '../../testing/counts';
import { clashOutcome, connected, exited, holdAfterInserting, targetTotals, until, waitingForLock, waitingForTransaction } from '../../testing/held-writers';
import { runMigrator, startMigrator } from '../../testing/run-cli';
import { s1Phase } from './steps';

/**
 * A key range of a split tenant (a distributed plan's 1.1 item) and another tenant's run share an externalId (one
 * session id, global across tenants). The other tenant's transaction is held once it has inserted the id, uncommitted,
 * so the range finds the id free under its per-tenant lock (which the other tenant does not take), inserts it, waits,
 * and meets it committed. The range's row is then a `duplicate_external_id` reject with its legacy row, and the range
 * is done; it used to fail with a raw `virtual_sessions_pkey` violation.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const HOLD = 4444;
const S1 = ['phase', 's1', '--as-of', AS_OF, '--batch-size', '25', '--max-reject-rate', '0.5'];
const RANGE: KeyRange = { key: 'plan-shared/1.1/0000', after: null, until: null };

let legacy: TestMysqlDatabase;
let work: string;
let env: Record<string, string>;
const databases: TestDatabase[] = [];
/** The tenant whose run inserts the shared id first, and the split tenant whose range claims it second. */
let holder: { tenant: string; legacyId: string; id: string };
let ranged: { tenant: string; legacyId: string };
/** The split tenant's 1.1 counts in the plain run, before its row took the other tenant's externalId. */
let plainCounts: Record<string, number>;

const COUNTS = `select read, written, rejected, deferred from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = '1.1'`;

beforeAll(async () => {
  legacy = await createTestMysqlDatabase('vc_shared_ext_range');
  const { expected } = await loadIntoMysql(legacy.url, {
    tenants: 2,
    sessions: 60,
    auditPerSession: 1,
    seed: 6262,
    asOf: new Date(AS_OF),
    databases: legacy.databases,
  });
  work = await mkdtemp(join(tmpdir(), 'vc-shared-ext-range-'));
  env = { VC_LEGACY_DATABASE_URL: legacy.url, VC_LEGACY_MASTER_KEY: expected.legacyMasterKey, VC_KMS: `local:${join(work, 'kms.json')}` };
  // Which legacy rows load (historical, valid) is the domain's call: a plain run on a scratch target says.
  const scratch = await createTestDatabase();
  databases.push(scratch);
  const plain = await runMigrator([...S1, '--all-tenants'], { ...env, VC_DATABASE_URL: scratch.url });
  expect(plain.code, plain.stderr).toBe(0);
  const c = await mysql.createConnection({ uri: legacy.url, database: legacy.databases.digitalCommunication });
  const client = await connected(scratch.url);
  try {
    const rows = await pgQuery(client)<{ tenant: string; legacyId: string; id: string }>(
      `select tenant_id as tenant, legacy_id as "legacyId", id::text as id from virtual_sessions order by tenant_id, legacy_id::bigint`,
    );
    const [withExternal] = await c.query<mysql.RowDataPacket[]>('select cast(id as char) as id from VirtualSession where externalId regexp ?', [
      '^[0-9a-f]{8}-',
    ]);
    const external = new Set(withExternal.map((r) => String(r.id)));
    const [a, b] = [...new Set(rows.map((r) => r.tenant))];
    holder = rows.find((r) => r.tenant === a && external.has(r.legacyId))!;
    ranged = rows.find((r) => r.tenant === b && external.has(r.legacyId))!;
    plainCounts = (await pgQuery(client)<Record<string, number>>(COUNTS, [ranged.tenant]))[0]!;
    // The split tenant's row carries the other tenant's externalId (legacy's unique key was not everywhere).
    await c.query('alter table VirtualSession drop index uq_VirtualSession_externalId');
    await c.query('update VirtualSession set externalId = ? where id = ?', [holder.id, ranged.legacyId]);
  } finally {
    await client.end();
    await c.end();
  }
}, 240_000);

afterAll(async () => {
  for (const db of databases) await db.drop();
  await legacy?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs 1.1 of the split tenant's one key range in this process, as a plan's worker does. */
async function runRange(target: TestDatabase) {
  const config = loadConfig({ ...env, VC_DATABASE_URL: target.url });
  const handle = await createDatabase(target.url);
  const services = createServices(config);
  try {
    return await runPhase({
      phase: { ...s1Phase, steps: s1Phase.steps.filter((s) => s.id === '1.1') },
      tenants: [ranged.tenant],
      range: RANGE,
      options: { dryRun: false, batchSize: 25, concurrency: 2, asOf: new Date(AS_OF), maxRejectRate: 0.5 },
      config,
      handle,
      services,
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      progress: { tty: false, quiet: true },
    });
  } finally {
    await services.close();
    await handle.close();
  }
}

describe('s1 1.1 by key range, sharing an externalId with another tenant loading it at the same moment', () => {
  it('rejects the range’s row duplicate_external_id with its legacy row, the range is done, and a rerun writes nothing', async () => {
    const target = await createTestDatabase();
    databases.push(target);
    const client = await connected(target.url);
    const q = pgQuery(client);
    try {
      await holdAfterInserting(client, { tenantId: holder.tenant, id: holder.id, key: HOLD, sub: 1 });
      const first = startMigrator([...S1, '--tenant', holder.tenant], { ...env, VC_DATABASE_URL: target.url });
      await until('the first tenant holds the shared id', async () => (await waitingForLock(client, HOLD, 1)) === 1, exited(first));
      const range = runRange(target);
      await until('the range waits for the first tenant', async () => (await waitingForTransaction(client)) > 0);
      await client.query('select pg_advisory_unlock($1, 1)', [HOLD]);
      const [done, summary] = await Promise.all([first.done, range]);

      expect(done.code, done.stderr).toBe(0);
      expect(summary.status, JSON.stringify(summary.errors)).toBe('done');
      expect(await clashOutcome(client, holder.id, ranged)).toEqual({
        holders: [{ tenant_id: holder.tenant, legacy_id: holder.legacyId }],
        rejects: [{ reason: 'duplicate_external_id', id: ranged.legacyId, external: holder.id }],
        left: 0,
      });
      // The range covers the whole tenant: its row is counted once, as rejected instead of written.
      expect(await q(`${COUNTS} and key_range = $2`, [ranged.tenant, RANGE.key])).toEqual([
        { ...plainCounts, written: plainCounts.written! - 1, rejected: plainCounts.rejected! + 1 },
      ]);

      const before = await targetTotals(client);
      expect((await runRange(target)).status).toBe('done');
      expect(await targetTotals(client)).toEqual(before);
    } finally {
      await client.end();
    }
  }, 240_000);
});
