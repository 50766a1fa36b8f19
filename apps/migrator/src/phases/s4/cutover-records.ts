import type { Database } from '@vc/schema';
import { cutoverHistory, tenantsWithCutovers, type CutoverRecord } from './cutover-store';

/** The cutover in force for the tenant: its latest `cutover` record with no `rollback` after it. */
export function activeCutover(history: readonly CutoverRecord[]): CutoverRecord | undefined {
  const latest = history.find((r) => r.action === 'cutover' || r.action === 'rollback');
  return latest?.action === 'cutover' ? latest : undefined;
}

/** A tenant's cutover in force. */
export type CutoverInForce = CutoverRecord & { tenantId: string };

/** Every tenant's cutover in force (see {@link activeCutover}), oldest first. */
export async function cutoversInForce(db: Database): Promise<CutoverInForce[]> {
  const found: CutoverInForce[] = [];
  for (const tenantId of await tenantsWithCutovers(db)) {
    const active = activeCutover(await cutoverHistory(db, tenantId));
    if (active) found.push({ ...active, tenantId });
  }
  return found.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.tenantId.localeCompare(b.tenantId));
}
