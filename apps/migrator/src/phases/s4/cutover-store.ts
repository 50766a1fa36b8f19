import { parseKongConfig, type KongConfig } from '@vc/integrations/kong';
import { cutovers, type Cutover, type Database } from '@vc/schema';
import { asc, desc, eq } from 'drizzle-orm';
import { UsageError } from '../../engine/errors';

/** `vc_migration.cutovers`: S4's routing changes; the snapshot taken before each apply is what rollback restores. */

export type CutoverAction = 'cutover' | 'rollback' | 'decommission';

type RoutingColumn = 'previousRouting' | 'appliedRouting';

/**
 * A cutover row as S4 reads it: the routing snapshots are Kong configurations, checked when read. One that is
 * stored but is not a Kong configuration (a hand edit, a bad restore) reads as null, with why in `corruptRouting`.
 */
export type CutoverRecord = Pick<Cutover, 'id' | 'forced' | 'reason' | 'createdAt'> & {
  action: CutoverAction;
  previousRouting: KongConfig | null;
  appliedRouting: KongConfig | null;
  corruptRouting: Partial<Record<RoutingColumn, string>>;
};

const COLUMN: Record<RoutingColumn, string> = { previousRouting: 'previous_routing', appliedRouting: 'applied_routing' };

/**
 * The snapshot a decision rests on (rollback's routing to restore, the cut-over routing 4.2, 4.3 and decommission
 * check Kong against). A missing or corrupt one is refused (exit 2) naming the record: guessing would change or
 * judge Kong's routing on nothing, so the operator restores or checks it by hand (runbooks/rollback.md).
 */
export function requireRouting(record: CutoverRecord, column: RoutingColumn, tenantId: string): KongConfig {
  const routing = record[column];
  if (routing) return routing;
  const corrupt = record.corruptRouting[column];
  throw new UsageError(
    `tenant ${tenantId}: the ${COLUMN[column]} snapshot of ${record.action} record ${record.id} (vc_migration.cutovers, ${record.createdAt.toISOString()}) is ` +
      `${corrupt ? `corrupt (not a Kong configuration: ${corrupt})` : 'missing (null)'}; nothing was changed. ` +
      'Restore or check the routing by hand from the Kong snapshot kept in the evidence pack (kong-before.json / kong-after.json) or your decK backup: see runbooks/rollback.md, "A missing or corrupt snapshot"',
  );
}

function readRouting(stored: unknown, column: RoutingColumn, corrupt: Partial<Record<RoutingColumn, string>>): KongConfig | null {
  if (stored === null || stored === undefined) return null;
  const parsed = parseKongConfig(stored);
  if (parsed.ok) return parsed.config;
  corrupt[column] = parsed.problem;
  return null;
}

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
  return rows.map((r) => {
    const corruptRouting: CutoverRecord['corruptRouting'] = {};
    return {
      ...r,
      action: r.action as CutoverAction,
      previousRouting: readRouting(r.previousRouting, 'previousRouting', corruptRouting),
      appliedRouting: readRouting(r.appliedRouting, 'appliedRouting', corruptRouting),
      corruptRouting,
    };
  });
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
