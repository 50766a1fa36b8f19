import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sessionStatus, videoBackend } from './enums';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/** A telehealth session, native or migrated from legacy `VirtualSession`. */
export const virtualSessions = pgTable(
  'virtual_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    /** Legacy `VirtualSession.id`; null for sessions created by the service. */
    legacyId: text('legacy_id'),
    patientRef: text('patient_ref').notNull(),
    practitionerRef: text('practitioner_ref'),
    scheduledStart: ts('scheduled_start'),
    scheduledEnd: ts('scheduled_end'),
    startedAt: ts('started_at'),
    endedAt: ts('ended_at'),
    status: sessionStatus('status').notNull(),
    cancelReason: text('cancel_reason'),
    videoBackend: videoBackend('video_backend').notNull().default('jitsi'),
    roomName: text('room_name'),
    encounterRef: text('encounter_ref'),
    /** Optimistic lock: every transition is `UPDATE … WHERE version = $seen`. */
    version: integer('version').notNull().default(1),
    /**
     * The version the migrator's last write of legacy's values left: while it equals `version` the service has not
     * written the row since, so legacy's changes may still replace it. 0: linked to its legacy row, never holding
     * legacy's values; null: a service session, or a row no release recorded this for (see the migrator's still-migrated.ts).
     */
    migratedVersion: integer('migrated_version'),
    /** The legacy updatedAt of the version the migrator last wrote: a legacy row stamped otherwise is a change. */
    legacyUpdatedAt: ts('legacy_updated_at'),
    /** Raw legacy values that mapping normalised (status, videoBackend, dates), for audit. */
    migratedFrom: jsonb('migrated_from').$type<Record<string, unknown>>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // The migrator's idempotency key: one row per legacy session per tenant, whatever re-runs happen.
    uniqueIndex('virtual_sessions_tenant_legacy_uq').on(t.tenantId, t.legacyId),
    index('virtual_sessions_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('virtual_sessions_tenant_status_idx').on(t.tenantId, t.status, t.scheduledStart),
    index('virtual_sessions_tenant_patient_idx').on(t.tenantId, t.patientRef, t.scheduledStart),
    index('virtual_sessions_tenant_practitioner_idx').on(t.tenantId, t.practitionerRef, t.scheduledStart),
    check('virtual_sessions_cancel_reason_only_when_cancelled', sql`${t.cancelReason} is null or ${t.status} = 'cancelled'`),
    check('virtual_sessions_version_positive', sql`${t.version} >= 1`),
  ],
);

export type VirtualSession = typeof virtualSessions.$inferSelect;
export type NewVirtualSession = typeof virtualSessions.$inferInsert;
