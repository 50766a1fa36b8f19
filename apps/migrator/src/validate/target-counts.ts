import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

/**
 * What the per-id comparison reads of a tenant's target: its migrated sessions, and the backfilled
 * participants of migrated sessions. The streamed sums are trusted only when the batches met as many rows.
 */
export interface TargetCounts {
  sessions: number;
  participants: number;
}

/** A tenant's counts when it is needed: per tenant, or one read for a whole run. */
export type TargetCountsOf = (tenantId: string) => Promise<TargetCounts>;

const counted = (row: { sessions: number | string; participants: number | string } | undefined): TargetCounts => ({
  sessions: Number(row?.sessions ?? 0),
  participants: Number(row?.participants ?? 0),
});

/** One tenant's counts (the participants' count scans the table: it has no tenant_id index). */
export const tenantTargetCounts =
  (db: Database): TargetCountsOf =>
  async (tenantId) => {
    const [row] = await queryRows<{ sessions: number | string; participants: number | string }>(
      db,
      sql`select (select count(*) from virtual_sessions where tenant_id = ${tenantId} and legacy_id is not null) as sessions,
                 (select count(*) from session_participants p join virtual_sessions s on s.id = p.session_id
                   where p.tenant_id = ${tenantId} and p.source = 'audit_backfill' and s.legacy_id is not null) as participants`,
    );
    return counted(row);
  };

/**
 * Every tenant's counts in one read, made when the first tenant asks: a run over many tenants scans
 * session_participants once instead of once per tenant. Counted before a tenant's pass rather than beside it;
 * rows written in between can only make the counts disagree with what the batches met, and a disagreement
 * sends the table to the per-id maps, which read the target as it is then: it costs time, never a difference.
 */
export function runTargetCounts(db: Database): TargetCountsOf {
  let all: Promise<Map<string, TargetCounts>> | undefined;
  const read = async () => {
    const rows = await queryRows<{ tenant_id: string; sessions: number | string; participants: number | string }>(
      db,
      sql`select tenant_id, sum(sessions) as sessions, sum(participants) as participants from (
            select tenant_id, count(*) as sessions, 0 as participants from virtual_sessions where legacy_id is not null group by tenant_id
            union all
            select p.tenant_id, 0, count(*) from session_participants p join virtual_sessions s on s.id = p.session_id
             where p.source = 'audit_backfill' and s.legacy_id is not null group by p.tenant_id) c
          group by tenant_id`,
    );
    return new Map(rows.map((r) => [r.tenant_id, counted(r)]));
  };
  return async (tenantId) => {
    all ??= read();
    // A failed read is not kept: the next tenant asks again.
    all.catch(() => (all = undefined));
    return (await all).get(tenantId) ?? counted(undefined);
  };
}
