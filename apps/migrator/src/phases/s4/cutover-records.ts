import type { KongConfig } from '@vc/integrations/kong';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

export type CutoverAction = 'cutover' | 'rollback' | 'decommission';

export interface CutoverRecord {
  id: string;
  action: CutoverAction;
  previousRouting: KongConfig | null;
  appliedRouting: KongConfig | null;
  forced: boolean;
  reason: string | null;
  createdAt: Date;
}

/** The tenant's cutover history, newest first. */
export async function cutoverHistory(db: Database, tenantId: string): Promise<CutoverRecord[]> {
  const rows = await queryRows<{
    id: string;
    action: CutoverAction;
    previous_routing: KongConfig | null;
    applied_routing: KongConfig | null;
    forced: boolean;
    reason: string | null;
    created_at: Date | string;
  }>(
    db,
    sql`select id, action, previous_routing, applied_routing, forced, reason, created_at from vc_migration.cutovers where tenant_id = ${tenantId} order by created_at desc, id desc`,
  );
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    previousRouting: r.previous_routing,
    appliedRouting: r.applied_routing,
    forced: r.forced,
    reason: r.reason,
    createdAt: new Date(r.created_at),
  }));
}

/** The cutover in force for the tenant: its latest `cutover` record with no `rollback` after it. */
export function activeCutover(history: readonly CutoverRecord[]): CutoverRecord | undefined {
  const latest = history.find((r) => r.action === 'cutover' || r.action === 'rollback');
  return latest?.action === 'cutover' ? latest : undefined;
}

/** A tenant's cutover in force. */
export type CutoverInForce = CutoverRecord & { tenantId: string };

/** Every tenant's cutover in force (see {@link activeCutover}), oldest first. */
export async function cutoversInForce(db: Database): Promise<CutoverInForce[]> {
  const rows = await queryRows<{ tenant_id: string }>(
    db,
    sql`select distinct tenant_id from vc_migration.cutovers where action = 'cutover' order by tenant_id`,
  );
  const found: CutoverInForce[] = [];
  for (const { tenant_id: tenantId } of rows) {
    const active = activeCutover(await cutoverHistory(db, tenantId));
    if (active) found.push({ ...active, tenantId });
  }
  return found.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.tenantId.localeCompare(b.tenantId));
}
