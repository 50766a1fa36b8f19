import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { RecordFault } from '../legacy/record-faults';

/**
 * Where the migration already rejected a malformed record of `file` (a CSV export's `VirtualSession.csv:42`,
 * any phase: S1 rejects what was there at its as-of, S4 what came later). Fault rejects carry the file in
 * `raw.$file` (record-faults.ts `rawRecord`); a row's reject never does, so nothing is counted twice.
 */
export async function rejectedRecordLocations(db: Database, tenantId: string, file: string): Promise<Set<string>> {
  const rows = await queryRows<{ legacy_key: string }>(
    db,
    sql`select distinct legacy_key from vc_migration.rejects where tenant_id = ${tenantId} and raw->>'$file' = ${file}`,
  );
  return new Set(rows.map((r) => r.legacy_key));
}

/**
 * A batch's malformed records sorted: those a phase rejected (they count as rejected legacy rows) and
 * those none did (unread, so a check must fail naming them). Only the location leaves: the record's
 * text may be PHI and never reaches a report.
 */
export function sortFaults(faults: readonly RecordFault[] | undefined, rejected: ReadonlySet<string>): { rejected: number; unread: string[] } {
  const unread = (faults ?? []).filter((f) => !rejected.has(f.location)).map((f) => f.location);
  return { rejected: (faults?.length ?? 0) - unread.length, unread };
}
