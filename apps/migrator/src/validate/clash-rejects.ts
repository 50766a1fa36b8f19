import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { sessionRejectRows } from '../phases/session-rejects';

/**
 * Legacy ids of the tenant's session rows rejected for what another row holds, not for what they are:
 * `duplicate_external_id` (S1 1.1 or S4: the externalId, the session's new id, belongs to another session of
 * this tenant or another one). Mapped on their own they load, so the fingerprints' legacy side would count a
 * session the target rightly does not hold: it leaves them out, as long as the target holds no session of the
 * id (a row S4 loaded after legacy fixed it is compared as any other). A twice-exported id's losing copy needs no
 * entry: the legacy side keeps one copy per id, the winner, as the phases do. Rejects are few: the set is small.
 * The same reject rows `sessions.reconciled` counts (see {@link sessionRejectRows}).
 */
export async function clashRejectedIds(db: Database, tenantId: string): Promise<ReadonlySet<string>> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`select distinct trim(r.raw->>'id') as id from vc_migration.rejects r where ${sessionRejectRows(tenantId)} and r.reason = 'duplicate_external_id'`,
  );
  return new Set(rows.map((r) => r.id));
}
