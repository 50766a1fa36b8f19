import { historicalStatuses, type CheckResult } from '@vc/domain/checklist';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { LegacySource } from '../legacy/types';
import { SessionTally } from './session-tally';

/** Which of a batch's legacy ids are loaded: one indexed lookup per legacy batch, never the tenant's whole id list. */
async function loadedOf(db: Database, tenantId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await queryRows<{ legacy_id: string }>(
    db,
    sql`select legacy_id from virtual_sessions where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`,
  );
  return new Set(rows.map((r) => r.legacy_id));
}

/** Plan §5 "historical sessions imported … counts reconciled" on its own read of legacy (see {@link SessionTally}). */
export async function checkSessionCounts(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  watermark: Date | undefined,
  batchSize: number,
): Promise<CheckResult> {
  const tally = await SessionTally.of(db, legacy, tenantId, watermark);
  // Only what the tally reads: the id and the dates that place a row before or after the watermark (and S4's as-of).
  for await (const batch of legacy.read('VirtualSession', { tenantId, batchSize, columns: ['id', 'scheduledStart', 'createdAt', 'updatedAt'] })) {
    tally.add(batch, await loadedOf(db, tenantId, [...new Set(batch.rows.map((row) => (row.id ?? '').trim()))]));
  }
  return tally.result(tenantId);
}

/** Plan 1.5 / §5 "with correct status": historical migrated sessions are all `ended` or `cancelled`. */
export async function checkHistoricalStatus(db: Database, tenantId: string, watermark: Date | undefined): Promise<CheckResult> {
  const cutoff = (watermark ?? new Date('9999-12-31T00:00:00.000Z')).toISOString();
  const byStatus = await queryRows<{ status: string; n: number | string }>(
    db,
    sql`select status, count(*) as n from virtual_sessions
        where tenant_id = ${tenantId} and legacy_id is not null and coalesce(scheduled_start, created_at) < ${cutoff}::timestamptz group by status`,
  );
  const offending = await queryRows<{ legacy_id: string }>(
    db,
    sql`select legacy_id from virtual_sessions
        where tenant_id = ${tenantId} and legacy_id is not null and coalesce(scheduled_start, created_at) < ${cutoff}::timestamptz
          and status not in ('ended', 'cancelled') order by legacy_id limit 10`,
  );
  return historicalStatuses(
    tenantId,
    Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)])),
    offending.map((r) => r.legacy_id),
  );
}
