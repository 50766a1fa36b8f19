import type { CheckResult } from '@vc/domain/checklist';
import type { Database } from '@vc/schema';
import type { AccessPolicyClient, FhirClient } from '../engine/ports';
import type { LegacySource } from '../legacy/types';
import { buildValidationReport, type ValidationReport } from '../reports/index';
import { checkBilling } from './billing';
import { checkConfig } from './configs';
import { checkConsents } from './consents';
import { checkEncounters } from './encounters';
import { checkHistoricalStatus, checkSessionCounts } from './sessions';
import { s1Watermark } from './watermark';

export interface ValidationDeps {
  db: Database;
  legacy: LegacySource;
  portal: LegacySource;
  accessPolicy: AccessPolicyClient;
  /** When FHIR is configured: the migrator's own Encounters are looked up there too (a sample). */
  fhir?: () => Promise<FhirClient>;
  /** The instant "recent" and consent decisions are judged at. */
  asOf: Date;
  batchSize: number;
}

/** The plan's §5 checklist for one tenant, in plan order. */
export async function validateTenant(deps: ValidationDeps, tenantId: string): Promise<CheckResult[]> {
  const watermark = await s1Watermark(deps.db, tenantId);
  return [
    await checkSessionCounts(deps.db, deps.legacy, tenantId, watermark, deps.batchSize),
    await checkHistoricalStatus(deps.db, tenantId, watermark),
    ...(await checkConfig(deps.db, deps.legacy, tenantId)),
    await checkEncounters(deps.db, tenantId, deps.fhir),
    await checkConsents(deps.portal, deps.accessPolicy, tenantId, deps.asOf, deps.batchSize),
    await checkBilling(deps.db, deps.legacy, tenantId, deps.asOf, deps.batchSize),
  ];
}

/** Every tenant's checklist, as the DESIGN §8 report. */
export async function runValidation(deps: ValidationDeps, tenants: readonly string[]): Promise<ValidationReport> {
  const checks: CheckResult[] = [];
  for (const tenant of tenants) checks.push(...(await validateTenant(deps, tenant)));
  return buildValidationReport(checks);
}

/** `--all-tenants`: every tenant legacy knows, from its sessions and its configs. */
export async function legacyTenants(legacy: LegacySource): Promise<string[]> {
  const [sessions, configs] = await Promise.all([legacy.tenants('VirtualSession'), legacy.tenants('TenantVirtualCareConfig')]);
  return [...new Set([...sessions, ...configs])].sort();
}
