import { jitsiJoinUrl, roomNameForSession } from '@vc/domain/jitsi';
import type { ParticipantRole, TenantVirtualCareConfig } from '@vc/schema';
import { AccessPolicyError } from '@vc/integrations/access-policy';
import { hasRole, type Principal } from '../auth/principal';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { findTenantConfig } from '../tenant-config/repo';
import { loadSessionFor } from './access';
import { sessionEventData } from './create';
import { signJitsiToken } from './jitsi-token';
import { appendAudit, recordJoin, recordLeave } from './repo';
import { runTransition } from './transition';

export interface JoinReply {
  joinUrl: string;
  jwt: string;
  roomName: string;
  expiresAt: string;
}

/** Joins and leaves of several people may interleave; each retries a lost version race this often. */
const PARTICIPANT_RETRIES = 5;

/** Participant events name practitioners; a patient (or anyone else) is only a role: no patient ref leaves in events. */
function participantEventData(sessionId: string, participantRef: string, role: ParticipantRole, now: Date): Record<string, unknown> {
  return { sessionId, ...(role === 'practitioner' ? { participantRef } : {}), role, at: now.toISOString() };
}

/** Practitioners join as practitioners; a caller holding only the patient role joins as the patient. */
function joinRole(principal: Principal): 'practitioner' | 'patient' {
  return hasRole(principal, 'vc:practitioner') ? 'practitioner' : 'patient';
}

async function requireConsent(ctx: AppContext, principal: Principal, now: Date): Promise<void> {
  if (!ctx.accessPolicy) throw new AppError('dependency_unavailable', 'access-policy is not configured, so patient consent cannot be checked');
  let decision;
  try {
    decision = await ctx.accessPolicy.decideTelehealth(principal.tenant, principal.sub, now);
  } catch (error) {
    const status = error instanceof AccessPolicyError ? error.status : undefined;
    throw new AppError('dependency_unavailable', `access-policy did not answer the consent check${status ? ` (HTTP ${status})` : ''}`, { cause: error });
  }
  if (!decision.permitted) {
    throw new AppError('consent_required', `the patient has no active telehealth consent (${decision.reason})`, { extensions: { reason: decision.reason } });
  }
}

function requireConfig(config: TenantVirtualCareConfig | undefined, tenantId: string): TenantVirtualCareConfig {
  if (!config) throw new AppError('tenant_not_configured', `tenant ${tenantId} has no virtual-care configuration; an admin must PUT /config`);
  if (!config.enabled) throw new AppError('virtual_care_disabled', `virtual care is disabled for tenant ${tenantId}`);
  return config;
}

/**
 * Joins a session: a patient needs an active telehealth consent; the participant row is recorded in the
 * transaction that moves the session (a practitioner's join starts it); the reply carries a short-lived
 * Jitsi token signed with the tenant's KMS-decrypted app secret.
 */
export async function joinSession(ctx: AppContext, principal: Principal, sessionId: string, displayName: string | undefined): Promise<JoinReply> {
  const now = ctx.now();
  const role = joinRole(principal);
  // Checks that need no write come first, so a refused join leaves no trace but the problem reply.
  // Two independent reads at once; the session's 404 still comes before any consent or config problem.
  const [visible, found] = await Promise.all([loadSessionFor(ctx.db, principal, sessionId), findTenantConfig(ctx.db, principal.tenant)]);
  if (role === 'patient') await requireConsent(ctx, principal, now);
  const config = requireConfig(found, principal.tenant);
  const appSecret = await ctx.secrets.get(principal.tenant, config.credentialsCiphertext);
  const { session, result: participant } = await runTransition({
    db: ctx.db,
    principal,
    sessionId: visible.id,
    seen: visible,
    action: { kind: 'join', role },
    now,
    retryOnConflict: PARTICIPANT_RETRIES,
    effects: async (tx, joined, change) => {
      const row = await recordJoin(tx, { session: joined, participantRef: principal.sub, role: role satisfies ParticipantRole, displayName: displayName ?? null, now });
      await appendAudit(tx, joined, 'participant.joined', principal.sub, { role }, now);
      if (change.to === 'in_progress' && change.statusChanged) {
        await ctx.outbox.event(tx, { tenantId: joined.tenantId, type: 'virtual_care.session.started', sessionId: joined.id, data: sessionEventData(joined), now });
      }
      await ctx.outbox.event(tx, {
        tenantId: joined.tenantId,
        type: 'virtual_care.participant.joined',
        sessionId: joined.id,
        data: participantEventData(joined.id, principal.sub, role, now),
        now,
      });
      return row;
    },
  });
  // Sessions delta-synced from legacy (S4) may carry no room name; the derived one is as good and stable.
  const roomName = session.roomName ?? roomNameForSession(session.id);
  const { jwt, expiresAt } = await signJitsiToken(
    {
      appId: config.jitsiAppId,
      serverUrl: config.jitsiServerUrl,
      room: roomName,
      user: { id: participant.pseudonym!, name: displayName ?? (role === 'practitioner' ? 'Clinician' : 'Patient'), moderator: role === 'practitioner' },
      now,
    },
    appSecret,
  );
  return { joinUrl: jitsiJoinUrl(config.jitsiServerUrl, roomName, jwt), jwt, roomName, expiresAt: expiresAt.toISOString() };
}

/** Leaves a session: stamps last_left_at; a caller who never joined gets 409. */
export async function leaveSession(ctx: AppContext, principal: Principal, sessionId: string): Promise<void> {
  const now = ctx.now();
  await runTransition({
    db: ctx.db,
    principal,
    sessionId,
    action: { kind: 'leave' },
    now,
    retryOnConflict: PARTICIPANT_RETRIES,
    effects: async (tx, session) => {
      const left = await recordLeave(tx, session, principal.sub, now);
      // Throwing rolls the version bump back: a leave without a join changes nothing.
      if (!left) throw new AppError('invalid_transition', 'the caller has not joined this session', { extensions: { action: 'leave' } });
      await appendAudit(tx, session, 'participant.left', principal.sub, {}, now);
      await ctx.outbox.event(tx, {
        tenantId: session.tenantId,
        type: 'virtual_care.participant.left',
        sessionId: session.id,
        data: participantEventData(session.id, principal.sub, left.role, now),
        now,
      });
    },
  });
}
