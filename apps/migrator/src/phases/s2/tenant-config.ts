import { tenantVirtualCareConfigs, type Database } from '@vc/schema';
import { eq } from 'drizzle-orm';

const COLUMNS = {
  tenantId: tenantVirtualCareConfigs.tenantId,
  jitsiServerUrl: tenantVirtualCareConfigs.jitsiServerUrl,
  jitsiAppId: tenantVirtualCareConfigs.jitsiAppId,
  credentialsCiphertext: tenantVirtualCareConfigs.credentialsCiphertext,
  fhirEraStart: tenantVirtualCareConfigs.fhirEraStart,
};

/** What S2 reads of a migrated config: the Drizzle table's own row type, narrowed to these columns. */
export type TenantConfigRow = Pick<typeof tenantVirtualCareConfigs.$inferSelect, keyof typeof COLUMNS>;

/** The migrated config of a tenant, or undefined when S1 left none (e.g. a credential reject). */
export async function loadTenantConfig(db: Database, tenantId: string): Promise<TenantConfigRow | undefined> {
  const [row] = await db.select(COLUMNS).from(tenantVirtualCareConfigs).where(eq(tenantVirtualCareConfigs.tenantId, tenantId));
  return row;
}
