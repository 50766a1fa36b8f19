import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgQuery, type Query } from '../../testing/counts';
import { openCsvTarget, type CsvTarget } from '../../testing/csv-target';
import {
  clashOutcome,
  connected,
  exited,
  holdAfterInserting,
  otherSessions,
  targetTotals,
  until,
  waitingForLock,
  waitingForTransaction,
} from '../../testing/held-writers';
import { runMigrator, startMigrator, type RunningCli } from '../../testing/run-cli';

/**
 * Two tenants of a CSV export share an externalId (one session id, global across tenants), loaded by two runs side by
 * side. The first tenant's 1.1 transaction is held once it has inserted the shared id, uncommitted; the second tenant's
 * batch then inserts it too, waits for that transaction, and meets it committed. The later claimant's row is a
 * `duplicate_external_id` reject with its CSV row, and both runs finish; it used to end the second tenant's step with a
 * raw `virtual_sessions_pkey` violation, since a CSV batch looked its ids up before its transaction.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const HOLD = 4343;
const S1 = ['phase', 's1', '--as-of', AS_OF, '--batch-size', '25', '--max-reject-rate', '0.5'];

let target: CsvTarget;
const scratch: TestDatabase[] = [];
/** Each tenant's first loaded session whose id is its externalId. */
let first: { tenant: string; legacyId: string; id: string };
let second: { tenant: string; legacyId: string; id: string };
/** The second tenant's 1.1 counts in the plain run, before its row took the first tenant's externalId. */
let plainCounts: StepCounts;

interface StepCounts {
  read: number;
  written: number;
  rejected: number;
  deferred: number;
}

const stepCounts = async (q: Query, tenant: string) =>
  (
    await q<StepCounts>(
      `select read, written, rejected, deferred from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = '1.1'`,
      [tenant],
    )
  )[0];

beforeAll(async () => {
  target = await openCsvTarget('vc-shared-ext-csv-', { tenants: 2, sessions: 60, auditPerSession: 1, seed: 5151, asOf: AS_OF });
  const file = join(target.env.VC_LEGACY_EXPORT_DIR!, 'VirtualSession.csv');
  const text = await readFile(file, 'utf8');
  // Which rows load (historical, valid) is the domain's call: a plain run on a scratch target says.
  const plain = await createTestDatabase();
  scratch.push(plain);
  const run = await runMigrator([...S1, '--all-tenants'], { ...target.env, VC_DATABASE_URL: plain.url });
  expect(run.code, run.stderr).toBe(0);
  const client = await connected(plain.url);
  try {
    const rows = await pgQuery(client)<{ tenant: string; legacyId: string; id: string }>(
      `select tenant_id as tenant, legacy_id as "legacyId", id::text as id from virtual_sessions order by tenant_id, legacy_id::bigint`,
    );
    const withExternalId = rows.filter((r) => text.includes(`,${r.id},`));
    const tenants = [...new Set(rows.map((r) => r.tenant))];
    const [a, b] = tenants.map((t) => withExternalId.find((r) => r.tenant === t)!);
    [first, second] = [a!, b!];
    plainCounts = (await stepCounts(pgQuery(client), second.tenant))!;
  } finally {
    await client.end();
  }
  // The second tenant's row carries the first tenant's externalId.
  await writeFile(file, text.replace(`,${second.id},`, `,${first.id},`));
});

afterAll(async () => {
  for (const db of scratch) await db.drop();
  await target?.close();
});

/**
 * Starts both tenants' runs on `env`'s target: the first is held with the shared id inserted, the second waits for it
 * (its batch inserts the id too). The caller lets the first go.
 */
async function crossing(client: pg.Client, env: Record<string, string>): Promise<{ one: RunningCli; two: RunningCli }> {
  await holdAfterInserting(client, { tenantId: first.tenant, id: first.id, key: HOLD, sub: 1 });
  const one = startMigrator([...S1, '--tenant', first.tenant], env);
  await until('the first tenant holds the shared id', async () => (await waitingForLock(client, HOLD, 1)) === 1, exited(one));
  const two = startMigrator([...S1, '--tenant', second.tenant], env);
  await until('the second tenant waits for the first', async () => (await waitingForTransaction(client)) > 0, exited(two));
  return { one, two };
}

/** What the crossing must end with: the first tenant keeps the id, the second's row is one reject, counted once. */
async function expectOutcome(client: pg.Client): Promise<void> {
  expect(await clashOutcome(client, first.id, second)).toEqual({
    holders: [{ tenant_id: first.tenant, legacy_id: first.legacyId }],
    rejects: [{ reason: 'duplicate_external_id', id: second.legacyId, external: first.id }],
    left: 0,
  });
  expect(await stepCounts(pgQuery(client), second.tenant)).toEqual({ ...plainCounts, written: plainCounts.written - 1, rejected: plainCounts.rejected + 1 });
}

describe('s1 from a CSV export, two tenants sharing an externalId loaded at the same moment', () => {
  it('rejects the later claimant duplicate_external_id with its CSV row, both runs exit 0, and a rerun writes nothing', async () => {
    const { client } = target;
    const { one, two } = await crossing(client, target.env);
    await client.query('select pg_advisory_unlock($1, 1)', [HOLD]);
    const [a, b] = await Promise.all([one.done, two.done]);

    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    await expectOutcome(client);
    const before = await targetTotals(client);
    const again = await runMigrator([...S1, '--all-tenants'], target.env);
    expect(again.code, again.stderr).toBe(0);
    expect(await targetTotals(client)).toEqual(before);
  }, 240_000);

  it('a run killed while it waits for the other tenant resumes to the same rows and rejects, none twice', async () => {
    const db = await createTestDatabase();
    scratch.push(db);
    const env = { ...target.env, VC_DATABASE_URL: db.url };
    const client = await connected(db.url);
    try {
      const { one, two } = await crossing(client, env);
      two.child.kill('SIGKILL');
      await two.done;
      await client.query('select pg_advisory_unlock($1, 1)', [HOLD]);
      const a = await one.done;
      expect(a.code, a.stderr).toBe(0);
      // The killed run's backend ends once its wait does, its batch rolled back; then nothing of either run is left.
      await until('the killed run is gone from PostgreSQL', async () => (await otherSessions(client)) === 0);
      const resumed = await runMigrator([...S1, '--tenant', second.tenant], env);
      expect(resumed.code, resumed.stderr).toBe(0);
      await expectOutcome(client);
      const twice = await pgQuery(client)<{ legacy_key: string }>(
        `select legacy_key from vc_migration.rejects group by tenant_id, phase, step_id, legacy_key, reason having count(*) > 1`,
      );
      expect(twice).toEqual([]);
    } finally {
      await client.end();
    }
  }, 240_000);
});
