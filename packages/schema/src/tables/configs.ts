import { boolean, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Billing defaults of a tenant: CMS place of service 02 (telehealth) or 10 (patient home), modifier 95 or none. */
export interface TenantBilling {
  placeOfService: '02' | '10';
  modifier: '95' | null;
}

/** The outcome of the last `test-connection`, stored so validation can read it without probing again. */
export interface ConnectionTestResult {
  ok: boolean;
  testedAt: string;
  checks: Array<{ id: string; ok: boolean; detail?: string }>;
}

/** A tenant's Jitsi deployment and billing settings; `credentialsCiphertext` is KMS ciphertext, never plaintext. */
export const tenantVirtualCareConfigs = pgTable('tenant_virtual_care_configs', {
  tenantId: text('tenant_id').primaryKey(),
  jitsiServerUrl: text('jitsi_server_url').notNull(),
  jitsiAppId: text('jitsi_app_id').notNull(),
  credentialsCiphertext: text('credentials_ciphertext').notNull(),
  kmsKeyId: text('kms_key_id').notNull(),
  branding: jsonb('branding').$type<Record<string, unknown>>(),
  enabled: boolean('enabled').notNull().default(true),
  /** Sessions that ended before this instant predate FHIR integration and need no Encounter. */
  fhirEraStart: timestamp('fhir_era_start', { withTimezone: true, precision: 3 }),
  billing: jsonb('billing').$type<TenantBilling>().notNull().default({ placeOfService: '02', modifier: '95' }),
  lastConnectionTest: jsonb('last_connection_test').$type<ConnectionTestResult>(),
  version: integer('version').notNull().default(1),
  /** The version 1.3's last write left: equal to `version` while no PUT /config wrote it since; null for a config the service created. */
  migratedVersion: integer('migrated_version'),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export type TenantVirtualCareConfig = typeof tenantVirtualCareConfigs.$inferSelect;
export type NewTenantVirtualCareConfig = typeof tenantVirtualCareConfigs.$inferInsert;
