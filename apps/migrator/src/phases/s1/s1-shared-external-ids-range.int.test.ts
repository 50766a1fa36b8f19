import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRange } from '../../engine/types';
import { pgQuery } from '../../testing/counts';
import { clashOutcome, connected, exited, holdAfterInserting, targetTotals, until, waitingForLock, waitingForTransaction } from '../../testing/held-writers';
import { onlyStep, runPhaseHere } from '../../testing/in-process-phase';
import { startMigrator } from '../../testing/run-cli';
import { openSharedIdsLegacy, type LoadedByExternalId, type SharedIdsLegacy } from '../../testing/shared-external-ids';
import { s1Phase } from './steps';

/**
 * Key ranges of a split tenant (a distributed plan's 1.1 items) and another tenant's run share an externalId (one
 * session id, global across tenants). The other tenant's transaction is held once it has inserted the id, uncommitted,
 * so the lower range finds the id free under its per-tenant lock (which the other tenant does not take), inserts it,
 * waits, and meets it committed. The range's row is then a `duplicate_external_id` reject with its legacy row, and the
 * range is done; it used to fail with a raw `virtual_sessions_pkey` violation. The same batch displaces a row the
 * higher range committed first (the lowest legacy id keeps an externalId within the tenant): the retry after the
 * refusal displaces it again, so its reject and counts are neither lost nor doubled.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const HOLD = 4444;
const S1 = ['phase', 's1', '--as-of', AS_OF, '--batch-size', '25', '--max-reject-rate', '0.5'];

let legacy: SharedIdsLegacy;
let env: Record<string, string>;
const databases: TestDatabase[] = [];
/** The tenant whose run inserts the shared id first, and the split tenant's row that claims it second. */
let holder: LoadedByExternalId;
let ranged: LoadedByExternalId;
/** A row of the split tenant in the same batch as `ranged`, and its copy past the last key, in the higher range. */
let kept: LoadedByExternalId;
let copy: string;
let ranges: [KeyRange, KeyRange];

const COUNTS = `select sum(read)::int as read, sum(written)::int as written, sum(rejected)::int as rejected, sum(deferred)::int as deferred
                  from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = '1.1' and key_range like 'plan-shared/%'`;

beforeAll(async () => {
  legacy = await openSharedIdsLegacy('vc_shared_ext_range', { tenants: 2, seed: 6262, asOf: AS_OF }, S1);
  ({ env } = legacy);
  const [a, b] = legacy.tenants;
  holder = legacy.loaded(a!)[0]!;
  [ranged, kept] = legacy.loaded(b!) as [LoadedByExternalId, LoadedByExternalId];
  // The split tenant's row carries the other tenant's externalId; another of its rows has a copy in the higher range.
  await legacy.share(ranged.legacyId, holder.id);
  copy = await legacy.twin(kept.legacyId);
  const cut = String(BigInt(copy) - 1n);
  ranges = [
    { key: 'plan-shared/1.1/0000', after: null, until: cut },
    { key: 'plan-shared/1.1/0001', after: cut, until: null },
  ];
}, 240_000);

afterAll(async () => {
  for (const db of databases) await db.drop();
  await legacy?.close();
});

/** Runs 1.1 of the split tenant's one key range in this process, as a plan's worker does. */
const runRange = (target: TestDatabase, range: KeyRange) =>
  runPhaseHere(
    { ...env, VC_DATABASE_URL: target.url },
    {
      phase: onlyStep(s1Phase, '1.1'),
      tenants: [ranged.tenant],
      range,
      // One batch: the row that clashes with the other tenant and the one that displaces the copy are written together.
      options: { dryRun: false, batchSize: 500, concurrency: 2, asOf: new Date(AS_OF), maxRejectRate: 0.5 },
    },
  );

describe('s1 1.1 by key ranges, sharing an externalId with another tenant loading it at the same moment', () => {
  it('rejects the range’s row duplicate_external_id with its legacy row, keeps the displaced copy’s reject, and a rerun writes nothing', async () => {
    const target = await createTestDatabase();
    databases.push(target);
    const client = await connected(target.url);
    const q = pgQuery(client);
    try {
      // The higher range commits first: the copy holds its externalId until the lower range displaces it.
      expect((await runRange(target, ranges[1])).status).toBe('done');
      await holdAfterInserting(client, { tenantId: holder.tenant, id: holder.id, key: HOLD, sub: 1 });
      const first = startMigrator([...S1, '--tenant', holder.tenant], { ...env, VC_DATABASE_URL: target.url });
      await until('the first tenant holds the shared id', async () => (await waitingForLock(client, HOLD, 1)) === 1, exited(first));
      const range = runRange(target, ranges[0]);
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
      expect(await clashOutcome(client, kept.id, { tenant: kept.tenant, legacyId: copy })).toEqual({
        holders: [{ tenant_id: kept.tenant, legacy_id: kept.legacyId }],
        rejects: [{ reason: 'duplicate_external_id', id: copy, external: kept.id }],
        left: 0,
      });
      // The copy is read and rejected, the range's row rejected instead of written: each counted once.
      const plain = legacy.plainCounts(ranged.tenant);
      expect(await q(COUNTS, [ranged.tenant])).toEqual([{ ...plain, read: plain.read + 1, written: plain.written - 1, rejected: plain.rejected + 2 }]);

      const before = await targetTotals(client);
      for (const r of ranges) expect((await runRange(target, r)).status).toBe('done');
      expect(await targetTotals(client)).toEqual(before);
    } finally {
      await client.end();
    }
  }, 240_000);
});
