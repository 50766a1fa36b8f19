import { isNull } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { billingStatus } from './enums';
import { virtualSessions } from './sessions';

/**
 * One billable telehealth service per session end; the unique key makes a double bill of a live session
 * impossible. Carried-over legacy rows are exempt from it: legacy history holds a void and a re-bill of the
 * same code for one session, each its own row, kept unique by (tenant, legacy id) instead.
 */
export const billingEvents = pgTable(
  'billing_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => virtualSessions.id, { onDelete: 'restrict' }),
    /** Legacy `BillingEvent.id` when carried over; null for live ones. */
    legacyId: text('legacy_id'),
    code: text('code').notNull(),
    modifier: text('modifier'),
    placeOfService: text('place_of_service').notNull(),
    units: integer('units').notNull().default(1),
    status: billingStatus('status').notNull().default('pending'),
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 3 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('billing_events_session_code_uq').on(t.tenantId, t.sessionId, t.code).where(isNull(t.legacyId)),
    uniqueIndex('billing_events_tenant_legacy_uq').on(t.tenantId, t.legacyId),
    index('billing_events_tenant_occurred_idx').on(t.tenantId, t.occurredAt),
  ],
);

export type BillingEvent = typeof billingEvents.$inferSelect;
export type NewBillingEvent = typeof billingEvents.$inferInsert;
