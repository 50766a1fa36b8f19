import { type ConnectionTestResult, type TenantVirtualCareConfig, tenantVirtualCareConfigs } from '@vc/schema';
import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../db';

/** SQL of `tenant_virtual_care_configs`; the primary key is the tenant, so every query is tenant-scoped. */

export async function findTenantConfig(db: Executor, tenantId: string): Promise<TenantVirtualCareConfig | undefined> {
  const [row] = await db.select().from(tenantVirtualCareConfigs).where(eq(tenantVirtualCareConfigs.tenantId, tenantId)).limit(1);
  return row;
}

/** What PUT /config writes. Never `migratedVersion`: the migrator's mark, which the version bump makes stale (a PUT config is the service's). */
export type TenantConfigWrite = Omit<TenantVirtualCareConfig, 'version' | 'updatedAt' | 'lastConnectionTest' | 'migratedVersion'>;

/**
 * Insert or replace; returns the row and whether it was created (a fresh row is at version 1). With
 * `expectedVersion` an existing row is replaced only at that version; otherwise nothing is written and
 * the result is `undefined`.
 */
export async function upsertTenantConfig(
  db: Executor,
  write: TenantConfigWrite,
  now: Date,
  expectedVersion?: number,
): Promise<{ row: TenantVirtualCareConfig; created: boolean } | undefined> {
  const { tenantId: _tenantId, ...changes } = write;
  const [row] = await db
    .insert(tenantVirtualCareConfigs)
    .values({ ...write, updatedAt: now })
    .onConflictDoUpdate({
      target: tenantVirtualCareConfigs.tenantId,
      set: { ...changes, version: sql`${tenantVirtualCareConfigs.version} + 1`, updatedAt: now },
      ...(expectedVersion === undefined ? {} : { setWhere: eq(tenantVirtualCareConfigs.version, expectedVersion) }),
    })
    .returning();
  return row ? { row, created: row.version === 1 } : undefined;
}

/**
 * No version bump (see etag.ts): the test's outcome is no column the migrator writes or compares, so a config only
 * tested is still the migrator's.
 */
export async function saveConnectionTest(db: Executor, tenantId: string, result: ConnectionTestResult): Promise<void> {
  await db.update(tenantVirtualCareConfigs).set({ lastConnectionTest: result }).where(eq(tenantVirtualCareConfigs.tenantId, tenantId));
}
