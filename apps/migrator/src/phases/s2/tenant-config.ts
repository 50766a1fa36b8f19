import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

export interface TenantConfigRow {
  tenantId: string;
  jitsiServerUrl: string;
  jitsiAppId: string;
  credentialsCiphertext: string;
  fhirEraStart: Date | null;
}

/** The migrated config of a tenant, or undefined when S1 left none (e.g. a credential reject). */
export async function loadTenantConfig(db: Database, tenantId: string): Promise<TenantConfigRow | undefined> {
  const rows = await queryRows<{ tenant_id: string; jitsi_server_url: string; jitsi_app_id: string; credentials_ciphertext: string; fhir_era_start: Date | string | null }>(
    db,
    sql`select tenant_id, jitsi_server_url, jitsi_app_id, credentials_ciphertext, fhir_era_start from tenant_virtual_care_configs where tenant_id = ${tenantId}`,
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    tenantId: row.tenant_id,
    jitsiServerUrl: row.jitsi_server_url,
    jitsiAppId: row.jitsi_app_id,
    credentialsCiphertext: row.credentials_ciphertext,
    fhirEraStart: row.fhir_era_start === null ? null : new Date(row.fhir_era_start),
  };
}
