import { sql, type SQL } from 'drizzle-orm';

/**
 * The `vc_migration.rejects` rows (aliased `r`) that stand for a legacy VirtualSession row of the tenant:
 * every reject of S1's session step (a displaced duplicate included, its raw row kept), and S4's delta
 * rejects of session rows (its step also rejects AuditLog and BillingEvent rows, which carry no
 * patientRef). validate counts these as the tenant's rejected sessions and S2's parallel run expects
 * no counterpart of them, so both read the same set.
 */
export function sessionRejectRows(tenantId: string): SQL {
  return sql`r.tenant_id = ${tenantId} and r.raw->>'id' is not null
    and ((r.phase = 's1' and r.step_id = '1.1') or (r.phase = 's4' and (r.raw -> 'patientRef') is not null))`;
}
