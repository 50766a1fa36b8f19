import { parseLegacyDatetime } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { Batch, StepContext } from '../../engine/types';
import type { LegacyRow } from '../../legacy/types';
import { faultRejects, recordsOf } from '../../legacy/record-faults';

const BILLING_COLUMNS = ['tenant_id', 'session_id', 'legacy_id', 'code', 'modifier', 'place_of_service', 'units', 'status', 'occurred_at'] as const;

/** Legacy billing statuses → ours. Legacy already sent these to the payer: they must never publish again. */
function billingStatus(raw: string | null | undefined): 'published' | 'void' {
  return (raw ?? '').trim().toLowerCase() === 'void' ? 'void' : 'published';
}

/**
 * Carries legacy `BillingEvent` rows of migrated sessions into `billing_events` (keyed by legacy id, so a
 * re-run inserts nothing and counts nothing written), resuming after the last committed legacy position. Rows of sessions that were
 * not migrated are skipped (they were rejected or deferred with their session); rows with no usable
 * occurredAt are rejected `invalid_datetime`.
 */
export async function carryOverBilling(ctx: StepContext, after: string | null): Promise<void> {
  const source = await ctx.services.legacy();
  for await (const batch of source.read('BillingEvent', { tenantId: ctx.tenantId, batchSize: ctx.options.batchSize, after, signal: ctx.signal })) {
    const ids = [...new Set(batch.rows.map((r) => (r.sessionId ?? '').trim()))];
    const sessions = await migratedSessionIds(ctx.db.db, ctx.tenantId, ids);
    // Carried by an earlier run (S2, or S4 after it): skipped, so `written` counts only what is new.
    const carried = await carriedBillingIds(
      ctx.db.db,
      ctx.tenantId,
      batch.rows.map((r) => (r.id ?? '').trim()),
    );
    const rows: unknown[][] = [];
    const rejects: NonNullable<Batch['rejects']>[number][] = faultRejects(batch.faults);
    for (const [i, row] of batch.rows.entries()) {
      const sessionId = sessions.get((row.sessionId ?? '').trim());
      if (!sessionId || carried.has((row.id ?? '').trim())) continue;
      const occurred = parseLegacyDatetime(row.occurredAt);
      if (occurred.kind !== 'ok') {
        rejects.push({
          legacyKey: `BillingEvent:${row.id ?? batch.ordinals[i]}`,
          reason: 'invalid_datetime',
          detail: 'occurredAt is not a datetime (expected YYYY-MM-DD HH:MM:SS[.fff], UTC)',
          raw: { ...row },
        });
        continue;
      }
      rows.push(toColumns(ctx.tenantId, sessionId, row, occurred.value));
    }
    await ctx.commit({
      cursor: { billingAfter: batch.position },
      read: recordsOf(batch),
      written: rows.length,
      rejects,
      write: async (tx) => {
        if (rows.length > 0) await tx.insertMany('billing_events', BILLING_COLUMNS, rows, 'do nothing');
      },
    });
    if (ctx.signal.aborted) return;
  }
}

function toColumns(tenantId: string, sessionId: string, row: LegacyRow, occurredAt: Date): unknown[] {
  const units = Number.parseInt(row.units ?? '1', 10);
  return [
    tenantId,
    sessionId,
    (row.id ?? '').trim(),
    (row.code ?? '').trim(),
    (row.modifier ?? '').trim() || null,
    (row.placeOfService ?? '02').trim() || '02',
    Number.isFinite(units) && units > 0 ? units : 1,
    billingStatus(row.status),
    occurredAt.toISOString(),
  ];
}

async function carriedBillingIds(db: Database, tenantId: string, legacyIds: readonly string[]): Promise<Set<string>> {
  const rows = await queryRows<{ legacy_id: string }>(
    db,
    sql`select legacy_id from billing_events where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(legacyIds)}::jsonb))`,
  );
  return new Set(rows.map((r) => r.legacy_id));
}

/** Legacy session id → new session id, for the migrated ones among `legacyIds`. */
export async function migratedSessionIds(db: Database, tenantId: string, legacyIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await queryRows<{ legacy_id: string; id: string }>(
    db,
    sql`select legacy_id, id from virtual_sessions where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(legacyIds)}::jsonb))`,
  );
  return new Map(rows.map((r) => [r.legacy_id, r.id]));
}
