import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

/**
 * Legacy session ids S1 rejected outright (not the losing copy of a duplicated id, whose winner was
 * loaded): they are accounted for in the rejects table and will never have a counterpart.
 */
export async function rejectedSessionIds(db: Database, tenantId: string): Promise<Set<string>> {
  const rows = await queryRows<{ id: string | null }>(
    db,
    sql`select distinct trim(raw->>'id') as id from vc_migration.rejects
        where tenant_id = ${tenantId} and phase in ('s1', 's4') and reason in ('missing_patient', 'invalid_reference', 'invalid_datetime') and (raw -> 'patientRef') is not null`,
  );
  return new Set(rows.map((r) => r.id).filter((id): id is string => id !== null));
}
