import { randomUUID } from 'node:crypto';
import type { EncounterResource } from '@vc/domain/encounter';
import { buildCloudEvent, type EventType } from '@vc/domain/events';
import { outbox } from '@vc/schema';
import type { Executor } from '../db';

/**
 * Writes outbox rows inside the caller's transaction, so an event exists exactly when its state change
 * committed. In shadow mode nothing is written: the parallel run must not publish or create anything.
 */
export interface OutboxWriter {
  event(db: Executor, input: { tenantId: string; type: EventType; sessionId: string; data: Record<string, unknown>; now: Date }): Promise<void>;
  encounter(db: Executor, input: { tenantId: string; sessionId: string; encounter: EncounterResource; now: Date }): Promise<void>;
}

export function createOutboxWriter(mode: 'live' | 'shadow'): OutboxWriter {
  if (mode === 'shadow') return { event: async () => undefined, encounter: async () => undefined };
  return {
    async event(db, input) {
      // The row id is the CloudEvent id and, later, the Nats-Msg-Id: one id from write to stream.
      const id = randomUUID();
      const payload = buildCloudEvent({ id, type: input.type, subject: input.sessionId, tenantId: input.tenantId, time: input.now, data: input.data });
      await db.insert(outbox).values({
        id,
        tenantId: input.tenantId,
        kind: 'event',
        subject: input.type,
        aggregateId: input.sessionId,
        payload: payload as unknown as Record<string, unknown>,
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
