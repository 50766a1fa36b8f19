import type { TenantVirtualCareConfig } from '@vc/schema';
import type { Executor } from '../db';
import { findTenantConfig } from './repo';

/**
 * Enabled tenant configs, kept in memory so a join does not read its tenant's config every time.
 * Staleness never reaches a committed join: the join statement re-checks the fields it used (version,
 * enabled, server URL, app id, ciphertext) against the table and writes nothing when they differ; the join
 * then drops the entry and runs again on a fresh read. So a change by `PUT /config` on another instance or
 * by the migrator (whose 1.3 upsert does not bump the version, only marks it its own) costs one wasted statement, never a token
 * signed with an old secret or a join into a disabled tenant. Only enabled configs are kept: a refusal
 * (missing or disabled config) is always decided on a fresh read. `PUT /config` here drops the entry at once.
 */
export class TenantConfigCache {
  private readonly entries = new Map<string, TenantVirtualCareConfig>();

  constructor(private readonly maxEntries = 10_000) {}

  async get(db: Executor, tenantId: string): Promise<TenantVirtualCareConfig | undefined> {
    const hit = this.entries.get(tenantId);
    if (hit) return hit;
    const row = await findTenantConfig(db, tenantId);
    if (row?.enabled) this.remember(row);
    return row;
  }

  /** After a write of the tenant's config, or when a join found the cached one outdated. */
  invalidate(tenantId: string): void {
    this.entries.delete(tenantId);
  }

  private remember(row: TenantVirtualCareConfig): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(row.tenantId, row);
  }
}
