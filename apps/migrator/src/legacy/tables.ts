import type { LegacyTable } from './types';

/** What the readers need to know of each legacy table (docs/design.md §4; DDL in fixtures/legacy/mysql). */
export interface LegacyTableInfo {
  /** Primary key column: the keyset-pagination key on MySQL. */
  key: string;
  /** Whether the key is numeric (bigint), so MySQL compares it as a number, not as text. */
  numericKey: boolean;
  tenantColumn: string;
  /** Columns a CSV export's header must name (the legacy DDL's, any order; extra columns are ignored). */
  columns: readonly string[];
}

export const LEGACY_TABLES: Readonly<Record<LegacyTable, LegacyTableInfo>> = {
  VirtualSession: {
    key: 'id',
    numericKey: true,
    tenantColumn: 'tenantId',
    columns: [
      'id',
      'tenantId',
      'externalId',
      'patientRef',
      'practitionerRef',
      'scheduledStart',
      'scheduledEnd',
      'startedAt',
      'endedAt',
      'status',
      'videoBackend',
      'roomName',
      'cancelReason',
      'encounterRef',
      'createdAt',
      'updatedAt',
    ],
  },
  AuditLog: {
    key: 'id',
    numericKey: true,
    tenantColumn: 'tenantId',
    columns: ['id', 'tenantId', 'entityType', 'entityId', 'action', 'actorRef', 'actorDisplay', 'payload', 'occurredAt'],
  },
  TenantVirtualCareConfig: {
    key: 'tenantId',
    numericKey: false,
    tenantColumn: 'tenantId',
    columns: ['tenantId', 'jitsiServerUrl', 'jitsiAppId', 'credentials', 'branding', 'enabled', 'updatedAt'],
  },
  BillingEvent: {
    key: 'id',
    numericKey: true,
    tenantColumn: 'tenantId',
    columns: ['id', 'tenantId', 'sessionId', 'code', 'modifier', 'placeOfService', 'units', 'occurredAt', 'status'],
  },
  telehealth_consent: {
    key: 'id',
    numericKey: true,
    tenantColumn: 'tenant_id',
    columns: ['id', 'tenant_id', 'patient_ref', 'status', 'granted_at', 'revoked_at', 'expires_at', 'method', 'recorded_by', 'document_url', 'updated_at'],
  },
};
