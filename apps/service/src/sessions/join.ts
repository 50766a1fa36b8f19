import { jitsiJoinUrl, roomNameForSession } from '@vc/domain/jitsi';
import type { ParticipantRole, TenantVirtualCareConfig, VirtualSession } from '@vc/schema';
import { IntegrationError } from '@vc/integrations/errors';
import { signJitsiToken } from '@vc/integrations/jitsi';
import { hasRole, type Principal } from '../auth/principal';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import type { Executor, Tx } from '../db';
import type { ReplyClaim } from '../idempotency/middleware';
import { loadSessionForJoin } from './access';
import { sessionEventData } from './create';
import { writeJoin } from './join-write';
import { appendAudit, newPseudonym, recordLeave } from './repo';
import { changedColumns, decide, runTransition, versionConflict } from './transition';

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
    const status = error instanceof IntegrationError ? error.status : undefined;
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
 * Joins a session: a patient needs an active telehealth consent; the participant row, the audit row and
 * the outbox rows are written by the one statement that moves the session (a practitioner's join starts
 * it), together with the idempotent reply of a keyed request; the reply carries a short-lived Jitsi token
 * signed with the tenant's KMS-decrypted app secret. Two round trips: one read, one write.
 */
export async function joinSession(
  ctx: AppContext,
  principal: Principal,
  sessionId: string,
  displayName: string | undefined,
  claim?: ReplyClaim,
): Promise<JoinReply> {
  const now = ctx.now();
  const role = joinRole(principal);
  const action = { kind: 'join', role } as const;
  // Checks that need no write come first, so a refused join leaves no trace but the problem reply.
  // The two reads and a patient's consent decision run at once: the decision is about the caller alone, so
  // asking it reveals nothing about the session, and on a decision-cache miss its round trip to
  // access-policy no longer waits for PostgreSQL's. The session's 404 still comes first, then consent, then config.
  const consent = role === 'patient' ? requireConsent(ctx, principal, now) : undefined;
  // Awaited below; this only keeps a refusal that loses to the 404 from being an unhandled rejection.
  consent?.catch(() => undefined);
  const [first, firstConfig] = await Promise.all([loadSessionForJoin(ctx.db, principal, sessionId), ctx.tenantConfigs.get(ctx.db, principal.tenant)]);
  await consent;
  const attempt = async (db: Executor, seen: typeof first, found: TenantVirtualCareConfig | undefined): Promise<JoinReply | undefined> => {
    const config = requireConfig(found, principal.tenant);
    const change = decide(seen.session, action, now);
    const joined: VirtualSession = { ...seen.session, ...changedColumns(change), version: seen.session.version + 1, updatedAt: now };
    const pseudonym = seen.pseudonym ?? newPseudonym();
    const reply = await signedReply(ctx, config, joined, { id: pseudonym, displayName, role }, now);
    const events = [
      change.to === 'in_progress' && change.statusChanged
        ? ctx.outbox.eventRow({ tenantId: joined.tenantId, type: 'virtual_care.session.started', sessionId: joined.id, data: sessionEventData(joined), now })
        : undefined,
      ctx.outbox.eventRow({
        tenantId: joined.tenantId,
        type: 'virtual_care.participant.joined',
        sessionId: joined.id,
        data: participantEventData(joined.id, principal.sub, role, now),
        now,
      }),
    ].filter((e) => e !== undefined);
    const written = await writeJoin(db, {
      seen: seen.session,
      changes: changedColumns(change),
      now,
      participant: { ref: principal.sub, role, displayName: displayName ?? null, pseudonym },
      config,
      auditDetails: { role },
      events,
      ...(claim ? { reply: { scope: claim.scope, status: 200, body: reply } } : {}),
    });
    return written ? reply : undefined;
  };
  let joined = await attempt(ctx.db, first, firstConfig);
  // A lost race (version, config or pseudonym changed since the read): read again under the row lock and
  // decide on the current state, so joins of one session queue on the lock instead of failing.
  for (let retry = 1; !joined; retry += 1) {
    if (retry > PARTICIPANT_RETRIES) throw versionConflict(action);
    ctx.tenantConfigs.invalidate(principal.tenant);
    joined = await ctx.db.transaction(async (tx) =>
      attempt(tx, await loadSessionForJoin(tx, principal, sessionId, { lock: true }), await ctx.tenantConfigs.get(tx, principal.tenant)),
    );
  }
  claim?.stored();
  return joined;
}

async function signedReply(
  ctx: AppContext,
  config: TenantVirtualCareConfig,
  session: VirtualSession,
  user: { id: string; displayName: string | undefined; role: 'practitioner' | 'patient' },
  now: Date,
): Promise<JoinReply> {
  const key = await ctx.secrets.signingKey(session.tenantId, config.credentialsCiphertext);
  // Sessions delta-synced from legacy (S4) may carry no room name; the derived one is as good and stable.
  const roomName = session.roomName ?? roomNameForSession(session.id);
  const { jwt, expiresAt } = signJitsiToken(
    {
      appId: config.jitsiAppId,
      serverUrl: config.jitsiServerUrl,
      room: roomName,
      user: { id: user.id, name: user.displayName ?? (user.role === 'practitioner' ? 'Clinician' : 'Patient'), moderator: user.role === 'practitioner' },
      now,
    },
    key,
  );
  return { joinUrl: jitsiJoinUrl(config.jitsiServerUrl, roomName, jwt), jwt, roomName, expiresAt: expiresAt.toISOString() };
}

/** Leaves a session: stamps last_left_at; a caller who never joined gets 409. */
export async function leaveSession(
  ctx: AppContext,
  principal: Principal,
  sessionId: string,
  within?: (tx: Tx, session: VirtualSession) => Promise<void>,
): Promise<VirtualSession> {
  const now = ctx.now();
  const { session } = await runTransition({
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
    within,
  });
  return session;
}
