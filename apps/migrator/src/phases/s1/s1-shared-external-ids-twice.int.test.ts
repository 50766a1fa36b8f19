import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockedBy, clashOutcome, connected, exited, holdAfterInserting, lockWaiter, targetTotals, until, waitingForLock } from '../../testing/held-writers';
import { runMigrator, startMigrator } from '../../testing/run-cli';
import { openSharedIdsLegacy, type LoadedByExternalId, type SharedIdsLegacy } from '../../testing/shared-external-ids';

/**
 * One batch of a tenant (MariaDB, whole tenant) carries two externalIds that two other tenants' runs insert, each
 * held uncommitted. The batch waits for the first, is refused once it commits, settles and writes again; then waits for
 * the second and is refused again. Each refusal is settled under the savepoint (the id its settle could not see is
 * committed by then): both rows are `duplicate_external_id` rejects and the step is done. A settle followed by a write
 * with no savepoint ended the step with a raw `virtual_sessions_pkey` violation on the second refusal.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const HOLD = 4545;
const S1 = ['phase', 's1', '--as-of', AS_OF, '--batch-size', '500', '--max-reject-rate', '0.5'];

let legacy: SharedIdsLegacy;
const databases: TestDatabase[] = [];
/** The two tenants whose runs insert the shared ids (`early.id` < `late.id`: the batch meets early's first). */
let early: LoadedByExternalId;
let late: LoadedByExternalId;
/** The tenant whose batch claims both, second: its rows carrying early's and late's ids. */
let third: LoadedByExternalId[];

beforeAll(async () => {
  legacy = await openSharedIdsLegacy('vc_shared_ext_twice', { tenants: 3, seed: 7373, asOf: AS_OF }, S1);
  const [a, b, t] = legacy.tenants;
  [early, late] = [legacy.loaded(a!)[0]!, legacy.loaded(b!)[0]!].sort((x, y) => (x.id < y.id ? -1 : 1)) as [LoadedByExternalId, LoadedByExternalId];
  third = legacy.loaded(t!).slice(0, 2);
  await legacy.share(third[0]!.legacyId, early.id);
  await legacy.share(third[1]!.legacyId, late.id);
}, 240_000);

afterAll(async () => {
  for (const db of databases) await db.drop();
  await legacy?.close();
});

describe('s1 1.1, one batch refused twice by shared externalIds other tenants commit while it writes', () => {
  it('rejects both rows duplicate_external_id, exit 0, and a rerun writes nothing', async () => {
    const target = await createTestDatabase();
    databases.push(target);
    const client = await connected(target.url);
    const over = { ...legacy.env, VC_DATABASE_URL: target.url };
    try {
      await holdAfterInserting(client, { tenantId: early.tenant, id: early.id, key: HOLD, sub: 1 });
      await holdAfterInserting(client, { tenantId: late.tenant, id: late.id, key: HOLD, sub: 2 });
      const one = startMigrator([...S1, '--tenant', early.tenant], over);
      const two = startMigrator([...S1, '--tenant', late.tenant], over);
      await until('both tenants hold their shared id', async () => (await waitingForLock(client, HOLD, 1)) + (await waitingForLock(client, HOLD, 2)) === 2);
      const [first, second] = [await lockWaiter(client, HOLD, 1), await lockWaiter(client, HOLD, 2)];
      const three = startMigrator([...S1, '--tenant', third[0]!.tenant], over);
      await until('the third tenant waits for the first', async () => (await blockedBy(client, first)) > 0, exited(three));
      await client.query('select pg_advisory_unlock($1, 1)', [HOLD]);
      await until('the third tenant, refused once, waits for the second', async () => (await blockedBy(client, second)) > 0, exited(three));
      await client.query('select pg_advisory_unlock($1, 2)', [HOLD]);
      const results = await Promise.all([one.done, two.done, three.done]);

      for (const result of results) expect(result.code, result.stderr).toBe(0);
      for (const [holder, loser] of [
        [early, third[0]!],
        [late, third[1]!],
      ] as const)
        expect(await clashOutcome(client, holder.id, loser)).toEqual({
          holders: [{ tenant_id: holder.tenant, legacy_id: holder.legacyId }],
          rejects: [{ reason: 'duplicate_external_id', id: loser.legacyId, external: holder.id }],
          left: 0,
        });
      const before = await targetTotals(client);
      const again = await runMigrator([...S1, '--all-tenants'], over);
      expect(again.code, again.stderr).toBe(0);
      expect(await targetTotals(client)).toEqual(before);
    } finally {
      await client.end();
    }
  }, 240_000);
});
