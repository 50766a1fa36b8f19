import { randomUUID } from 'node:crypto';
import type { EncounterResource } from '@vc/domain/encounter';
import { buildCloudEvent, type EventType } from '@vc/domain/events';
import { outbox } from '@vc/schema';
import type { Executor } from '../db';

export interface OutboxEventInput {
  tenantId: string;
  type: EventType;
  sessionId: string;
  data: Record<string, unknown>;
  now: Date;
}

/** What an event's outbox row holds besides tenant, aggregate and times: its id (= CloudEvent id), subject and payload. */
export interface OutboxEventRow {
  id: string;
  subject: EventType;
  payload: Record<string, unknown>;
}

function eventRow(input: OutboxEventInput): OutboxEventRow {
  // The row id is the CloudEvent id and, later, the Nats-Msg-Id: one id from write to stream.
  const id = randomUUID();
  const payload = buildCloudEvent({ id, type: input.type, subject: input.sessionId, tenantId: input.tenantId, time: input.now, data: input.data });
  return { id, subject: input.type, payload: payload as unknown as Record<string, unknown> };
}

/**
 * Writes outbox rows inside the caller's transaction, so an event exists exactly when its state change
 * committed. In shadow mode nothing is written: the parallel run must not publish or create anything.
 */
export interface OutboxWriter {
  /** The outbox row of a CloudEvent without writing it, for effects written as one statement; undefined in shadow mode. */
  eventRow(input: OutboxEventInput): OutboxEventRow | undefined;
  event(db: Executor, input: OutboxEventInput): Promise<void>;
  encounter(db: Executor, input: { tenantId: string; sessionId: string; encounter: EncounterResource; now: Date }): Promise<void>;
}

export function createOutboxWriter(mode: 'live' | 'shadow'): OutboxWriter {
  if (mode === 'shadow') return { eventRow: () => undefined, event: async () => undefined, encounter: async () => undefined };
  return {
    eventRow,
    async event(db, input) {
      const { id, subject, payload } = eventRow(input);
      await db.insert(outbox).values({
        id,
        tenantId: input.tenantId,
        kind: 'event',
        subject,
        aggregateId: input.sessionId,
        payload,
        createdAt: input.now,
        nextAttemptAt: input.now,
      });
    },
    async encounter(db, input) {
      await db.insert(outbox).values({
        tenantId: input.tenantId,
        kind: 'fhir_encounter',
        subject: 'Encounter',
        aggregateId: input.sessionId,
        payload: { encounter: input.encounter } as unknown as Record<string, unknown>,
        createdAt: input.now,
        nextAttemptAt: input.now,
      });
    },
  };
}
