import { historicalStatuses, reconcileSessions, type CheckResult } from '@vc/domain/checklist';
import { parseLegacyDatetime } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { LegacySource } from '../legacy/types';
import { rejectedRecordLocations, sortFaults } from './unread-records';

/**
 * Legacy ids of session rows that went to the rejects (per id, how many source rows): every reject of S1's
 * session step (a displaced duplicate keeps only `{id}` as raw), and S4's delta rejects of session rows
 * (its step also rejects AuditLog rows, which carry no patientRef).
 */
async function rejectedSessionCounts(db: Database, tenantId: string): Promise<Map<string, number>> {
  const rows = await queryRows<{ id: string; n: number | string }>(
    db,
    sql`select trim(raw->>'id') as id, count(*) as n from vc_migration.rejects
        where tenant_id = ${tenantId} and raw->>'id' is not null
          and ((phase = 's1' and step_id = '1.1') or (phase = 's4' and (raw -> 'patientRef') is not null))
        group by 1`,
  );
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

/** Which of a batch's legacy ids are loaded: one indexed lookup per legacy batch, never the tenant's whole id list. */
async function loadedOf(db: Database, tenantId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await queryRows<{ legacy_id: string }>(
    db,
    sql`select legacy_id from virtual_sessions where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`,
  );
  return new Set(rows.map((r) => r.legacy_id));
}

/**
 * Plan §5 "historical sessions imported … counts reconciled": every legacy source row is loaded (its id is
 * in virtual_sessions, once), rejected (a reject row per source row), or deferred (not historical at S1's
 * watermark and not loaded yet). Anything else is missing and sampled by legacy id; a tenant S1 never ran
 * for has no watermark, so all its rows are missing. A malformed CSV record has no id to trust: it counts
 * as rejected when a phase rejected it at its `file:line`, else it is unread and sampled by `file:line`.
 */
export async function checkSessionCounts(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  watermark: Date | undefined,
  batchSize: number,
): Promise<CheckResult> {
  const rejected = await rejectedSessionCounts(db, tenantId);
  // A legacy id repeats only in a CSV export (MySQL's is the primary key): only there are ids remembered.
  const counted = legacy.kind === 'csv' ? new Set<string>() : undefined;
  const counts = { legacy: 0, loaded: 0, rejected: 0, deferred: 0 };
  const missing: string[] = [];
  // A malformed record of a CSV export is a legacy row too: a reject when a phase rejected it, else unread.
  const rejectedRecords = legacy.kind === 'csv' ? await rejectedRecordLocations(db, tenantId, 'VirtualSession.csv') : new Set<string>();
  const unread: string[] = [];
  // Only what the tally reads: the id and the two dates that place a row before or after the watermark.
  for await (const batch of legacy.read('VirtualSession', { tenantId, batchSize, columns: ['id', 'scheduledStart', 'createdAt'] })) {
    const faults = sortFaults(batch.faults, rejectedRecords);
    counts.legacy += batch.faults?.length ?? 0;
    counts.rejected += faults.rejected;
    unread.push(...faults.unread);
    const loaded = await loadedOf(db, tenantId, [...new Set(batch.rows.map((row) => (row.id ?? '').trim()))]);
    // Within the batch too, a loaded id counts once (a later twin is then a reject or missing).
    const seen = counted ?? new Set<string>();
    for (const row of batch.rows) {
      counts.legacy += 1;
      const id = (row.id ?? '').trim();
      const remainingRejects = rejected.get(id) ?? 0;
      const when = parseLegacyDatetime(row.scheduledStart);
      const created = parseLegacyDatetime(row.createdAt);
      const at = when.kind === 'ok' ? when.value : created.kind === 'ok' ? created.value : undefined;
      if (loaded.has(id) && !seen.has(id)) {
        seen.add(id);
        counts.loaded += 1;
      } else if (remainingRejects > 0) {
        rejected.set(id, remainingRejects - 1);
        counts.rejected += 1;
      } else if (at !== undefined && watermark !== undefined && at.getTime() >= watermark.getTime()) {
        counts.deferred += 1;
      } else {
        missing.push(id);
      }
    }
  }
  return reconcileSessions(tenantId, counts, missing, unread);
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
