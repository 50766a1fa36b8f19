import { buildBillingEvent } from '@vc/domain/billing';
import { buildEncounter, needsEncounter } from '@vc/domain/encounter';
import { SESSION_IDENTIFIER_SYSTEM } from '@vc/integrations/fhir';
import type { VirtualSession } from '@vc/schema';
import type { Principal } from '../auth/principal';
import { insertBillingEvent } from '../billing/repo';
import type { AppContext } from '../context';
import type { Tx } from '../db';
import { findTenantConfig } from '../tenant-config/repo';
import { sessionEventData } from './create';
import { appendAudit, listParticipants } from './repo';
import { runTransition } from './transition';

/** Runs last in the transition's transaction: where a keyed request stores its reply. */
type InTx = (tx: Tx, session: VirtualSession) => Promise<void>;

/**
 * Ends a session. In the transaction that moves it to `ended`: the audit event, the billing event (place
 * of service and modifier from the tenant config) and the outbox rows — the CloudEvents and the FHIR
 * Encounter request. Of two racing ends one wins; the other gets 409.
 */
export async function endSession(ctx: AppContext, principal: Principal, sessionId: string, within?: InTx): Promise<VirtualSession> {
  const now = ctx.now();
  const { session } = await runTransition({
    db: ctx.db,
    principal,
    sessionId,
    action: { kind: 'end' },
    now,
    effects: (tx, ended) => writeEndEffects(ctx, tx, ended, principal, now),
    within,
  });
  return session;
}

async function writeEndEffects(ctx: AppContext, tx: Tx, session: VirtualSession, principal: Principal, now: Date): Promise<void> {
  const config = await findTenantConfig(tx, session.tenantId);
  const endedAt = session.endedAt ?? now;
  const draft = buildBillingEvent({ startedAt: session.startedAt, endedAt }, config?.billing);
  const billing = draft ? await insertBillingEvent(tx, session.tenantId, session.id, draft) : undefined;
  await appendAudit(tx, session, 'session.ended', principal.sub, { billingEventId: billing?.id ?? null }, now);
  await ctx.outbox.event(tx, { tenantId: session.tenantId, type: 'virtual_care.session.ended', sessionId: session.id, data: sessionEventData(session), now });
  if (billing) {
    await ctx.outbox.event(tx, {
      tenantId: session.tenantId,
      type: 'virtual_care.billing.created',
      sessionId: session.id,
      data: {
        billingEventId: billing.id,
        sessionId: session.id,
        code: billing.code,
        modifier: billing.modifier,
        placeOfService: billing.placeOfService,
        units: billing.units,
        occurredAt: billing.occurredAt.toISOString(),
      },
      now,
    });
  }
  if (needsEncounter(endedAt, config?.fhirEraStart ?? null)) {
    const participants = await listParticipants(tx, session.tenantId, session.id);
    const encounter = buildEncounter(
      {
        id: session.id,
        patientRef: session.patientRef,
        practitionerRef: session.practitionerRef,
        startedAt: session.startedAt,
        endedAt,
        // Ended from waiting, never started: no service delivered (no bill above), so the Encounter is cancelled.
        endedBeforeStart: session.startedAt === null,
      },
      participants,
      SESSION_IDENTIFIER_SYSTEM,
    );
    await ctx.outbox.encounter(tx, { tenantId: session.tenantId, sessionId: session.id, encounter, now });
  }
}

/** Cancels a session that has not started; the reason is kept on the row and in the audit trail. */
export async function cancelSession(ctx: AppContext, principal: Principal, sessionId: string, reason: string, within?: InTx): Promise<VirtualSession> {
  const now = ctx.now();
  const { session } = await runTransition({
    db: ctx.db,
    principal,
    sessionId,
    action: { kind: 'cancel', reason },
    now,
    effects: async (tx, cancelled) => {
      await appendAudit(tx, cancelled, 'session.cancelled', principal.sub, { reason }, now);
      await ctx.outbox.event(tx, {
        tenantId: cancelled.tenantId,
        type: 'virtual_care.session.cancelled',
        sessionId: cancelled.id,
        data: sessionEventData(cancelled),
        now,
      });
    },
    within,
  });
  return session;
}
