import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { sessionRejectRows } from '../session-rejects';

/**
 * Legacy session ids S1 or S4 quarantined, whatever the reason (a missing patient, a text the target
 * cannot hold, a clashing externalId…): accounted for in the rejects table, they will never have a
 * counterpart on the new side. An id that was loaded all the same is left out (the displaced twin of a
 * duplicated id, whose winner was loaded under it; a row a later sync loaded): its copy is there to pair.
 */
export async function rejectedSessionIds(db: Database, tenantId: string): Promise<Set<string>> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`select distinct trim(r.raw->>'id') as id from vc_migration.rejects r
        where ${sessionRejectRows(tenantId)}
          and not exists (select 1 from virtual_sessions s where s.tenant_id = r.tenant_id and s.legacy_id = trim(r.raw->>'id'))`,
  );
  return new Set(rows.map((r) => r.id));
}
