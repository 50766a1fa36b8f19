import type { KongConfig } from '@vc/integrations/kong';
import { cutovers, type Cutover, type Database } from '@vc/schema';
import { asc, desc, eq } from 'drizzle-orm';

/** `vc_migration.cutovers`: S4's routing changes; the snapshot taken before each apply is what rollback restores. */

export type CutoverAction = 'cutover' | 'rollback' | 'decommission';

/** A cutover row as S4 reads it: the routing snapshots are Kong configurations. */
export type CutoverRecord = Pick<Cutover, 'id' | 'forced' | 'reason' | 'createdAt'> & {
  action: CutoverAction;
  previousRouting: KongConfig | null;
  appliedRouting: KongConfig | null;
};

/** The tenant's cutover history, newest first. */
export async function cutoverHistory(db: Database, tenantId: string): Promise<CutoverRecord[]> {
  const rows = await db
    .select({
      id: cutovers.id,
      action: cutovers.action,
      previousRouting: cutovers.previousRouting,
      appliedRouting: cutovers.appliedRouting,
      forced: cutovers.forced,
      reason: cutovers.reason,
      createdAt: cutovers.createdAt,
    })
    .from(cutovers)
    .where(eq(cutovers.tenantId, tenantId))
    .orderBy(desc(cutovers.createdAt), desc(cutovers.id));
  return rows.map((r) => ({
    ...r,
    action: r.action as CutoverAction,
    previousRouting: r.previousRouting as KongConfig | null,
    appliedRouting: r.appliedRouting as KongConfig | null,
  }));
}

/** Every tenant that ever had a `cutover` recorded, in tenant order. */
export async function tenantsWithCutovers(db: Database): Promise<string[]> {
  const rows = await db.selectDistinct({ tenantId: cutovers.tenantId }).from(cutovers).where(eq(cutovers.action, 'cutover')).orderBy(asc(cutovers.tenantId));
  return rows.map((r) => r.tenantId);
}

/** Records one routing change (`createdAt` defaults to the database's time). */
export async function insertCutover(
  db: Database,
  row: Pick<Cutover, 'tenantId' | 'actor'> &
    Partial<Pick<Cutover, 'watermark' | 'forced' | 'reason'>> & {
      action: CutoverAction;
      previousRouting: KongConfig | null;
      appliedRouting: KongConfig | null;
    },
): Promise<void> {
  await db.insert(cutovers).values(row);
}
