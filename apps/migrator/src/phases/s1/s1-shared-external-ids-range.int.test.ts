import { createDatabase } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { runPhase } from '../../engine/run-phase';
import { createServices } from '../../engine/services';
import type { KeyRange } from '../../engine/types';
import { pgQuery } from '../../testing/counts';
import { clashOutcome, connected, exited, holdAfterInserting, targetTotals, until, waitingForLock, waitingForTransaction } from '../../testing/held-writers';
import { startMigrator } from '../../testing/run-cli';
import { openSharedIdsLegacy, type LoadedByExternalId, type SharedIdsLegacy } from '../../testing/shared-external-ids';
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

let legacy: SharedIdsLegacy;
let env: Record<string, string>;
const databases: TestDatabase[] = [];
/** The tenant whose run inserts the shared id first, and the split tenant whose range claims it second. */
let holder: LoadedByExternalId;
let ranged: LoadedByExternalId;

const COUNTS = `select read, written, rejected, deferred from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = '1.1'`;

beforeAll(async () => {
  legacy = await openSharedIdsLegacy('vc_shared_ext_range', { tenants: 2, seed: 6262, asOf: AS_OF }, S1);
  ({ env } = legacy);
  const [a, b] = legacy.tenants;
  holder = legacy.loaded(a!)[0]!;
  ranged = legacy.loaded(b!)[0]!;
  // The split tenant's row carries the other tenant's externalId.
  await legacy.share(ranged.legacyId, holder.id);
}, 240_000);

afterAll(async () => {
  for (const db of databases) await db.drop();
  await legacy?.close();
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
      const plain = legacy.plainCounts(ranged.tenant);
      expect(await q(`${COUNTS} and key_range = $2`, [ranged.tenant, RANGE.key])).toEqual([
        { ...plain, written: plain.written - 1, rejected: plain.rejected + 1 },
      ]);

      const before = await targetTotals(client);
      expect((await runRange(target)).status).toBe('done');
      expect(await targetTotals(client)).toEqual(before);
    } finally {
      await client.end();
    }
  }, 240_000);
});
