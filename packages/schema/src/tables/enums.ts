import { PARTICIPANT_ROLES, VIDEO_BACKENDS } from '@vc/domain/legacy';
import { SESSION_STATUSES } from '@vc/domain/lifecycle';
import { pgEnum } from 'drizzle-orm/pg-core';

// The domain owns these value lists; the enums are built from them so the two can never disagree.

/** Lifecycle states of a VirtualSession (docs/design.md §3). Historical loads only ever write `ended` or `cancelled`. */
export const sessionStatus = pgEnum('session_status', SESSION_STATUSES);

export const videoBackend = pgEnum('video_backend', VIDEO_BACKENDS);

export const participantRole = pgEnum('participant_role', PARTICIPANT_ROLES);

/** `live` rows come from the service's join/leave; `audit_backfill` rows from the migrator's step 1.4. */
export const participantSource = pgEnum('participant_source', ['live', 'audit_backfill']);

export const billingStatus = pgEnum('billing_status', ['pending', 'published', 'void']);

/** What the outbox relay does with a row: publish a CloudEvent, or create the FHIR Encounter. */
export const outboxKind = pgEnum('outbox_kind', ['event', 'fhir_encounter']);

export type SessionStatus = (typeof sessionStatus.enumValues)[number];
export type VideoBackend = (typeof videoBackend.enumValues)[number];
export type ParticipantRole = (typeof participantRole.enumValues)[number];
export type ParticipantSource = (typeof participantSource.enumValues)[number];
