import { randomUUID } from 'node:crypto';
import { roomNameForSession } from '@vc/domain/jitsi';
import type { VirtualSession } from '@vc/schema';
import type { Principal } from '../auth/principal';
import type { AppContext } from '../context';
import type { Tx } from '../db';
import { AppError } from '../errors';
import { appendAudit, insertSession } from './repo';
import { refuseMigratedSlot } from './shadow-slot';
import type { CreateSessionBody } from './schemas';

/** Schedules a session; a practitioner creating one without `practitionerRef` is its practitioner. */
export async function createSession(
  ctx: AppContext,
  principal: Principal,
  body: CreateSessionBody,
  /** Runs in the creating transaction (the idempotent reply is stored there). */
  within?: (tx: Tx, session: VirtualSession) => Promise<void>,
): Promise<VirtualSession> {
  const practitionerRef = body.practitionerRef ?? (principal.sub.startsWith('Practitioner/') ? principal.sub : undefined);
  if (!practitionerRef) {
    throw new AppError('validation_failed', 'invalid body.practitionerRef', {
      errors: [{ field: 'body.practitionerRef', message: 'expected Practitioner/<id> when the caller is not a practitioner' }],
    });
  }
  const now = ctx.now();
  const id = randomUUID();
  const slot = { tenantId: principal.tenant, patientRef: body.patientRef, practitionerRef, scheduledStart: new Date(body.scheduledStart) };
  return ctx.db.transaction(async (tx) => {
    // A mirrored booking the migrator already loaded from legacy is not made twice (see shadow-slot.ts).
    if (ctx.config.mode === 'shadow') await refuseMigratedSlot(tx, slot);
    const session = await insertSession(tx, {
      id,
      ...slot,
      scheduledEnd: body.scheduledEnd ? new Date(body.scheduledEnd) : null,
      status: 'scheduled',
      videoBackend: 'jitsi',
      roomName: roomNameForSession(id),
      createdAt: now,
      updatedAt: now,
    });
    await appendAudit(tx, session, 'session.created', principal.sub, {}, now);
    await ctx.outbox.event(tx, {
      tenantId: session.tenantId,
      type: 'virtual_care.session.created',
      sessionId: session.id,
      data: sessionEventData(session, { withPatient: true }),
      now,
    });
    await within?.(tx, session);
    return session;
  });
}

/**
 * What events say about a session: references and times, never display names. The patient ref rides
 * only on `session.created` (schedulers and reminders need whose session it is); later events name the
 * session id, which subscribers correlate (apps/service/README.md lists which event carries which ref).
 * The cancel reason stays out: it is free text (a clinician's, or legacy's) that may hold clinical detail,
 * and `status` already says the session was cancelled; `GET /sessions/:id` gives it to those allowed to read it.
 */
export function sessionEventData(s: VirtualSession, options: { withPatient?: boolean } = {}): Record<string, unknown> {
  return {
    sessionId: s.id,
    status: s.status,
    ...(options.withPatient ? { patientRef: s.patientRef } : {}),
    practitionerRef: s.practitionerRef,
    scheduledStart: s.scheduledStart?.toISOString() ?? null,
    scheduledEnd: s.scheduledEnd?.toISOString() ?? null,
    startedAt: s.startedAt?.toISOString() ?? null,
    endedAt: s.endedAt?.toISOString() ?? null,
    version: s.version,
  };
}
