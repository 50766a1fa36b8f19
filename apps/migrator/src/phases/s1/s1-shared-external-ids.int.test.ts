import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgQuery } from '../../testing/counts';
import { connected, exited, until, waitingForLock, waitingForTransaction } from '../../testing/held-writers';
import { runMigrator, startMigrator } from '../../testing/run-cli';

/**
 * Two tenants whose legacy rows share two externalIds (one session id each, global across tenants), in opposite
 * legacy orders, loaded side by side by one `--all-tenants` run from MariaDB. A trigger on the target holds each
 * tenant's 1.1 transaction at a chosen row until the test lets it go, so both transactions are open at once, each
 * having inserted one of the shared ids: the interleaving that deadlocked when each tenant sent its sessions in legacy
 * order. Sent in id order, the second tenant waits for the first, then settles the committed ids as clashes.
 */
const AS_OF = '2026-11-01T00:00:00Z';
/** First and last in any id order: the ids the two tenants share. */
const FIRST = '00000000-0000-4000-8000-000000000001';
const LAST = 'ffffffff-ffff-4fff-bfff-ffffffffffff';
/** The advisory locks the test holds and the trigger waits on: (HOLD, 1) for the first tenant, (HOLD, 2) for the second. */
const HOLD = 4242;
const RUN = ['phase', 's1', '--all-tenants', '--as-of', AS_OF, '--batch-size', '500', '--max-reject-rate', '0.5'];

let legacy: TestMysqlDatabase;
let work: string;
let env: Record<string, string>;
const databases: TestDatabase[] = [];
/** Each tenant's first two loaded legacy sessions, in legacy order. */
let first: { tenant: string; ids: [string, string] };
let second: { tenant: string; ids: [string, string] };

beforeAll(async () => {
  legacy = await createTestMysqlDatabase('vc_shared_ext');
  const { expected } = await loadIntoMysql(legacy.url, {
    tenants: 2,
    sessions: 60,
    auditPerSession: 1,
    seed: 9191,
    asOf: new Date(AS_OF),
    databases: legacy.databases,
  });
  work = await mkdtemp(join(tmpdir(), 'vc-shared-ext-'));
  env = { VC_LEGACY_DATABASE_URL: legacy.url, VC_LEGACY_MASTER_KEY: expected.legacyMasterKey, VC_KMS: `local:${join(work, 'kms.json')}` };
  // Which legacy rows load (historical, valid) is the domain's call: a plain run on a scratch target says.
  const scratch = await createTestDatabase();
  databases.push(scratch);
  const plain = await runMigrator(RUN, { ...env, VC_DATABASE_URL: scratch.url });
  expect(plain.code, plain.stderr).toBe(0);
  const client = await connected(scratch.url);
  try {
    const rows = await pgQuery(client)<{ tenant_id: string; legacy_id: string }>(
      `select tenant_id, legacy_id from virtual_sessions where legacy_id is not null order by tenant_id, legacy_id::bigint`,
    );
    const [a, b] = [...new Set(rows.map((r) => r.tenant_id))];
    const firstTwo = (tenant: string) =>
      rows
        .filter((r) => r.tenant_id === tenant)
        .map((r) => r.legacy_id)
        .slice(0, 2) as [string, string];
    first = { tenant: a!, ids: firstTwo(a!) };
    second = { tenant: b!, ids: firstTwo(b!) };
  } finally {
    await client.end();
  }
  // The first tenant's rows carry FIRST then LAST in legacy order, the second tenant's LAST then FIRST (legacy's
  // unique key on externalId was not everywhere).
  const c = await mysql.createConnection({ uri: legacy.url });
  try {
    await c.query('alter table VirtualSession drop index uq_VirtualSession_externalId');
    const set = (externalId: string, id: string) => c.query('update VirtualSession set externalId = ? where id = ?', [externalId, id]);
    await set(FIRST, first.ids[0]);
    await set(LAST, first.ids[1]);
    await set(LAST, second.ids[0]);
    await set(FIRST, second.ids[1]);
  } finally {
    await c.end();
  }
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await legacy?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('s1 --all-tenants, two tenants sharing externalIds in opposite orders', () => {
  it('never deadlocks: the second tenant waits for the first, then rejects the shared ids as duplicate_external_id, exit 0', async () => {
    const target = await createTestDatabase();
    databases.push(target);
    const client = await connected(target.url);
    const q = pgQuery(client);
    try {
      // Holds the first tenant before it inserts LAST (FIRST inserted), the second before its first row.
      await client.query(`create function vc_test_hold() returns trigger language plpgsql as $$
        begin
          if new.tenant_id = ${client.escapeLiteral(first.tenant)} and new.id = '${LAST}' then
            perform pg_advisory_xact_lock_shared(${HOLD}, 1);
          elsif new.tenant_id = ${client.escapeLiteral(second.tenant)} then
            perform pg_advisory_xact_lock_shared(${HOLD}, 2);
          end if;
          return new;
        end $$`);
      await client.query(`create trigger vc_test_hold before insert on virtual_sessions for each row execute function vc_test_hold()`);
      await client.query(`select pg_advisory_lock(${HOLD}, 1), pg_advisory_lock(${HOLD}, 2)`);

      const run = startMigrator(RUN, { ...env, VC_DATABASE_URL: target.url });
      await until(
        'both tenants are held in 1.1',
        async () => (await waitingForLock(client, HOLD, 1)) + (await waitingForLock(client, HOLD, 2)) === 2,
        exited(run),
      );
      // The second tenant goes on and inserts a shared id the first one holds uncommitted: it waits for that transaction.
      await client.query(`select pg_advisory_unlock(${HOLD}, 2)`);
      await until('the second tenant waits for the first', async () => (await waitingForTransaction(client)) > 0, exited(run));
      await client.query(`select pg_advisory_unlock(${HOLD}, 1)`);
      const result = await run.done;

      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/deadlock/i);
      // The first tenant committed first and keeps both ids; the second tenant's rows with them are rejects.
      const holders = await q<{ id: string; tenant_id: string; legacy_id: string }>(
        `select id::text, tenant_id, legacy_id from virtual_sessions where id in ($1, $2) order by id`,
        [FIRST, LAST],
      );
      expect(holders).toEqual([
        { id: FIRST, tenant_id: first.tenant, legacy_id: first.ids[0] },
        { id: LAST, tenant_id: first.tenant, legacy_id: first.ids[1] },
      ]);
      const rejects = await q<{ legacy_key: string; reason: string }>(
        `select legacy_key, reason from vc_migration.rejects where tenant_id = $1 and phase = 's1' and step_id = '1.1' and legacy_key = any($2) order by legacy_key::bigint`,
        [second.tenant, second.ids],
      );
      expect(rejects).toEqual(second.ids.map((legacy_key) => ({ legacy_key, reason: 'duplicate_external_id' })));
      expect(await q(`select count(*)::int as n from vc_migration.id_map where new_id in ('${FIRST}', '${LAST}')`)).toEqual([{ n: 2 }]);
    } finally {
      await client.end();
    }
  }, 240_000);
});
