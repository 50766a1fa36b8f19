import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { outboxKind } from './enums';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/**
 * Transactional outbox: rows are written in the same transaction as the state change and relayed later
 * (CloudEvents to JetStream with Nats-Msg-Id = id, or the FHIR Encounter). `id` is the event id.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    kind: outboxKind('kind').notNull().default('event'),
    /** `virtual_care.<entity>.<verb>` for events; the FHIR resource type for Encounter requests. */
    subject: text('subject').notNull(),
    aggregateId: uuid('aggregate_id'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    publishedAt: ts('published_at'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    /** Set when the far side refused the row for good: the relay no longer claims it (requeue: README). */
    refusedAt: ts('refused_at'),
    /** Why, PHI-free: `fhir <status>` and the OperationOutcome's issue codes. */
    refusedReason: text('refused_reason'),
  },
  (t) => [
    // The relay only ever scans what is still due.
    index('outbox_pending_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.publishedAt} is null`),
  ],
);

export type OutboxRow = typeof outbox.$inferSelect;
export type NewOutboxRow = typeof outbox.$inferInsert;
