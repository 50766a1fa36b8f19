import { billingForRecentSessions, type CheckResult } from '@vc/domain/checklist';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { LegacyBatch, LegacySource } from '../legacy/types';
import { canCarryBilling } from '../phases/s2/billing-carry-over';
import { billingIdOf } from '../phases/s2/billing-twins';

/** "Recently migrated": sessions that ended within this many days before the check's as-of. */
export const RECENT_DAYS = 30;

/** How MySQL prints a bigint: the only `sessionId` text a row of the legacy `BillingEvent` table can have. */
const BIGINT_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/;

/**
 * The legacy BillingEvent rows that may belong to `sessionIds`. On MySQL `sessionId` is a bigint (the legacy
 * DDL), read back in its canonical decimal text, so only a canonical id can equal one: those are asked for by
 * the (tenantId, sessionId) index, a batch of ids at a time, instead of reading every billing row of the
 * tenant for the few recent ones. The caller still compares each row's text with the ids, so a row the
 * numeric comparison lets through is never counted for another id. A CSV export (any text) is read whole.
 */
async function* billingRowsOf(legacy: LegacySource, tenantId: string, sessionIds: ReadonlySet<string>, batchSize: number): AsyncGenerator<LegacyBatch> {
  if (legacy.kind !== 'mysql') {
    yield* legacy.read('BillingEvent', { tenantId, batchSize });
    return;
  }
  const ids = [...sessionIds].filter((id) => BIGINT_TEXT.test(id));
  for (let i = 0; i < ids.length; i += batchSize) {
    const where = [{ column: 'sessionId', in: ids.slice(i, i + batchSize) }];
    yield* legacy.read('BillingEvent', { tenantId, batchSize, where, index: 'idx_BillingEvent_tenantId_sessionId' });
  }
}

/**
 * Plan §5 "billing events verified for recently migrated sessions": each non-void legacy BillingEvent of
 * a migrated session that ended in the last {@link RECENT_DAYS} days has its billing event here (carried
 * over by S2 step 2.4, keyed by legacy id), and each one legacy voided is void here too: legacy voids a bill
 * in place (a status change, no updated_at) and re-bills in a new row, so a carried bill still `published`
 * beside its re-bill bills the patient twice. Of an id a CSV export carries twice, the copy compared is the
 * one the carry-over carried: the first in file order that can be carried on its own (billing-twins.ts).
 */
export async function checkBilling(db: Database, legacy: LegacySource, tenantId: string, asOf: Date, batchSize: number): Promise<CheckResult> {
  const since = new Date(asOf.getTime() - RECENT_DAYS * 86_400_000);
  const recent = await queryRows<{ legacy_id: string }>(
    db,
    sql`select legacy_id from virtual_sessions where tenant_id = ${tenantId} and legacy_id is not null and status = 'ended'
          and ended_at >= ${since.toISOString()}::timestamptz and ended_at < ${asOf.toISOString()}::timestamptz`,
  );
  const recentIds = new Set(recent.map((r) => r.legacy_id));
  const expected = new Map<string, string>();
  // Per billing id, whether the copy that is the bill (see above) is void; an id no copy of which can be carried keeps its first.
  const bills = new Map<string, { sessionId: string; void: boolean; carried: boolean }>();
  for await (const batch of billingRowsOf(legacy, tenantId, recentIds, batchSize)) {
    for (const row of batch.rows) {
      const sessionId = (row.sessionId ?? '').trim();
      if (!recentIds.has(sessionId)) continue;
      const id = billingIdOf(row);
      const isVoid = (row.status ?? '').trim().toLowerCase() === 'void';
      if (!isVoid) expected.set(id, sessionId);
      const seen = bills.get(id);
      const carried = canCarryBilling(row);
      if (!seen || (carried && !seen.carried)) bills.set(id, { sessionId, void: isVoid, carried });
    }
  }
  const voided = [...bills].filter(([, b]) => b.void && b.carried).map(([id]) => id);
  for (const id of voided) expected.delete(id);
  const present = await queryRows<{ legacy_id: string }>(
    db,
    sql`select legacy_id from billing_events where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify([...expected.keys()])}::jsonb))`,
  );
  const stillBilled = await queryRows<{ legacy_id: string }>(
    db,
    sql`select legacy_id from billing_events where tenant_id = ${tenantId} and status <> 'void'
          and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(voided)}::jsonb)) order by legacy_id`,
  );
  const have = new Set(present.map((r) => r.legacy_id));
  const missingSessions = [...new Set([...expected].filter(([billingId]) => !have.has(billingId)).map(([, sessionId]) => sessionId))].sort();
  return billingForRecentSessions(
    tenantId,
    { billedInLegacy: expected.size, billedHere: have.size, sinceIso: since.toISOString() },
    missingSessions,
    stillBilled.map((r) => r.legacy_id),
  );
}
