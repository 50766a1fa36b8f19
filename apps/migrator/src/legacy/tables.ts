import type { LegacyTable } from './types';

/** What the readers need to know of each legacy table (DESIGN §4; DDL in fixtures/legacy/mysql). */
export interface LegacyTableInfo {
  /** Primary key column: the keyset-pagination key on MySQL. */
  key: string;
  /** Whether the key is numeric (bigint), so MySQL compares it as a number, not as text. */
  numericKey: boolean;
  tenantColumn: string;
}

export const LEGACY_TABLES: Readonly<Record<LegacyTable, LegacyTableInfo>> = {
  VirtualSession: { key: 'id', numericKey: true, tenantColumn: 'tenantId' },
  AuditLog: { key: 'id', numericKey: true, tenantColumn: 'tenantId' },
  TenantVirtualCareConfig: { key: 'tenantId', numericKey: false, tenantColumn: 'tenantId' },
  BillingEvent: { key: 'id', numericKey: true, tenantColumn: 'tenantId' },
  telehealth_consent: { key: 'id', numericKey: true, tenantColumn: 'tenant_id' },
};
