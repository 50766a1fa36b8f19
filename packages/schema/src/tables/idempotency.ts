import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Replies to POSTs that carried an `Idempotency-Key`, replayed verbatim when the same caller retries.
 * Rows live 24 h (`created_at`), then the service's purge deletes them.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: text('tenant_id').notNull(),
    principal: text('principal').notNull(),
    key: text('key').notNull(),
    /** Hash of method + path + body: the same key with another request is a 422, not a replay. */
    requestHash: text('request_hash').notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    /** Headers of the reply a replay must repeat (`Location` of a 201); null when it set none. */
    responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'idempotency_keys_pk', columns: [t.tenantId, t.principal, t.key] }), index('idempotency_keys_created_at_idx').on(t.createdAt)],
);

export type IdempotencyKey = typeof idempotencyKeys.$inferSelect;
