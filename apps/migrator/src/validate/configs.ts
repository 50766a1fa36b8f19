import { configMigrated, connectionTest, type CheckResult } from '@vc/domain/checklist';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { LegacySource } from '../legacy/types';

/** Plan §5 "tenant configs migrated; test connection passing": the config row exists and its last test passed. */
export async function checkConfig(db: Database, legacy: LegacySource, tenantId: string): Promise<CheckResult[]> {
  let legacyConfig = false;
  for await (const batch of legacy.read('TenantVirtualCareConfig', { tenantId, batchSize: 10 })) legacyConfig ||= batch.rows.length > 0;
  const rows = await queryRows<{ last_connection_test: { ok: boolean; checks: Array<{ id: string; ok: boolean }> } | null }>(
    db,
    sql`select last_connection_test from tenant_virtual_care_configs where tenant_id = ${tenantId}`,
  );
  const rejects = await queryRows<{ reason: string }>(
    db,
    sql`select reason from vc_migration.rejects where tenant_id = ${tenantId} and phase = 's1' and (raw -> 'credentials') is not null order by id limit 1`,
  );
  const row = rows[0];
  return [
    configMigrated(tenantId, { legacyConfig, migrated: row !== undefined, rejectReason: rejects[0]?.reason ?? null }),
    connectionTest(tenantId, row?.last_connection_test ?? null),
  ];
}
