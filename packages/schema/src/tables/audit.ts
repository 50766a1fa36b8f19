import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { virtualSessions } from './sessions';

/**
 * Append-only audit trail of session actions. A trigger (migration 0001) refuses UPDATE and DELETE,
 * so the trail cannot be rewritten even by a buggy caller.
 */
export const sessionAuditEvents = pgTable(
  'session_audit_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => virtualSessions.id, { onDelete: 'restrict' }),
    action: text('action').notNull(),
    actorRef: text('actor_ref'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('session_audit_events_session_idx').on(t.tenantId, t.sessionId, t.occurredAt)],
);

export type SessionAuditEvent = typeof sessionAuditEvents.$inferSelect;
export type NewSessionAuditEvent = typeof sessionAuditEvents.$inferInsert;
