import { sql } from 'drizzle-orm';
import { check, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { participantRole, participantSource } from './enums';
import { virtualSessions } from './sessions';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/** Who was in a session: one row per (session, participant), live or backfilled from AuditLog. */
export const sessionParticipants = pgTable(
  'session_participants',
  {
    sessionId: uuid('session_id')
      .notNull()
      .references(() => virtualSessions.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id').notNull(),
    participantRef: text('participant_ref').notNull(),
    role: participantRole('role').notNull(),
    displayName: text('display_name'),
    firstJoinedAt: ts('first_joined_at'),
    /** The latest leave; a rejoin does not clear it (compare with lastJoinedAt to tell who was in the room at the end). */
    lastLeftAt: ts('last_left_at'),
    /**
     * The latest join: live joins set it, and the legacy folds (S1 1.4, S4's refold) fill it from the latest
     * `participant.joined` event. NULL for a row loaded before they did (see runbooks/s1-session-data.md).
     */
    lastJoinedAt: ts('last_joined_at'),
    joinCount: integer('join_count').notNull().default(0),
    /**
     * The legacy folds' (S1 1.4, S4's refold): when the earliest join whose payload named a known role happened,
     * the join `role` came from; NULL when the role was guessed from the actor's type, or set live (migration 0021).
     */
    roleJoinedAt: ts('role_joined_at'),
    source: participantSource('source').notNull(),
    /** The Jitsi token's `context.user.id`: random, set at the first live join; maps back to participantRef here only. */
    pseudonym: text('pseudonym'),
  },
  (t) => [
    // Backfill re-runs and live joins must converge on one row per participant.
    primaryKey({ name: 'session_participants_pk', columns: [t.sessionId, t.participantRef] }),
    check('session_participants_join_count_nonneg', sql`${t.joinCount} >= 0`),
    uniqueIndex('session_participants_pseudonym_idx').on(t.sessionId, t.pseudonym),
  ],
);

export type SessionParticipant = typeof sessionParticipants.$inferSelect;
export type NewSessionParticipant = typeof sessionParticipants.$inferInsert;
