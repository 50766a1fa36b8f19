import type { RejectReason, WarningCode } from './codes';
import { parseLegacyDatetime } from './datetime';
import { normalise, nonEmpty } from './text';
import { checkTexts, type TextKind } from './text-guard';

/** A legacy `AuditLog` row as text (docs/design.md §4). */
export interface LegacyAuditLog {
  id: string;
  tenantId: string;
  entityType: string | null;
  entityId: string | null;
  action: string | null;
  actorRef: string | null;
  actorDisplay: string | null;
  payload: string | null;
  occurredAt: string | null;
}

/** A participant's role in a session (the schema's `participant_role` enum is built from this list). */
export const PARTICIPANT_ROLES = ['patient', 'practitioner', 'interpreter', 'caregiver', 'other'] as const;
export type ParticipantRole = (typeof PARTICIPANT_ROLES)[number];
const ROLES: ReadonlySet<string> = new Set<ParticipantRole>(PARTICIPANT_ROLES);

/** The audit rows that are participant history (all others are not step 1.4's business). */
export const PARTICIPANT_ENTITY_TYPE = 'VirtualSession';
export const PARTICIPANT_ACTIONS = ['participant.joined', 'participant.left'] as const;

export interface ParticipantEvent {
  auditId: string;
  sessionLegacyId: string;
  actorRef: string;
  kind: 'joined' | 'left';
  at: Date;
  role: ParticipantRole;
  /** Whether `role` came from the payload (it then beats a role guessed from the actor's type). */
  roleFromPayload: boolean;
  displayName: string | null;
}

export type EventParse =
  | { kind: 'event'; event: ParticipantEvent; warnings: WarningCode[] }
  | { kind: 'ignored' }
  | { kind: 'reject'; reason: RejectReason; field: string; detail: string };

/** Role from a FHIR-style actor reference (`Patient/1`, `Practitioner/7`, `RelatedPerson/3`). */
export function roleFromActorRef(actorRef: string): ParticipantRole {
  switch (normalise(actorRef.split('/')[0])) {
    case 'patient':
      return 'patient';
    case 'practitioner':
      return 'practitioner';
    case 'relatedperson':
      return 'caregiver';
    default:
      return 'other';
  }
}

type PayloadRole = Readonly<{ role: ParticipantRole | null; malformed: boolean }>;

const NO_PAYLOAD: PayloadRole = Object.freeze({ role: null, malformed: false });

function readPayloadRole(text: string): PayloadRole {
  try {
    const parsed: unknown = JSON.parse(text);
    const role = normalise(typeof parsed === 'object' && parsed !== null ? String((parsed as { role?: unknown }).role ?? '') : '');
    return Object.freeze({ role: ROLES.has(role) ? (role as ParticipantRole) : null, malformed: false });
  } catch {
    // Legacy payloads are sometimes truncated JSON; the caller warns `malformed_payload`.
    return Object.freeze({ role: null, malformed: true });
  }
}

// A payload's role is a function of its text, and a participant's events tend to carry the same payload: the
// answers of recent short texts, so each is parsed once. Bounded in entries and in their length (a legacy payload
// may be 64 KiB), and emptied when full, so memory does not follow the data.
const PAYLOAD_ROLES_MAX = 4096;
const PAYLOAD_MEMO_MAX_LENGTH = 512;
const payloadRoles = new Map<string, PayloadRole>();

/** The role an AuditLog payload names (`{"role": …}`), and whether the payload is malformed JSON. */
export function payloadRole(payload: string | null): PayloadRole {
  const text = (payload ?? '').trim();
  if (text === '' || text === '\\N') return NO_PAYLOAD;
  if (text.length > PAYLOAD_MEMO_MAX_LENGTH) return readPayloadRole(text);
  let known = payloadRoles.get(text);
  if (known === undefined) {
    if (payloadRoles.size >= PAYLOAD_ROLES_MAX) payloadRoles.clear();
    known = readPayloadRole(text);
    payloadRoles.set(text, known);
  }
  return known;
}

/** The texts of an event the migrator writes (participant_ref is in the primary key) or looks up by. */
const WRITTEN_TEXTS: Readonly<Partial<Record<keyof LegacyAuditLog, TextKind>>> = {
  id: 'indexed',
  entityId: 'indexed',
  actorRef: 'indexed',
  actorDisplay: 'text',
  occurredAt: 'text',
};

/**
 * Reads one audit row as a participant event (docs/design.md §5, plan 1.4). Orphan events (no loaded session)
 * and leaves without a join need the whole picture and are decided by the caller.
 */
export function parseParticipantEvent(row: LegacyAuditLog): EventParse {
  const action = normalise(row.action);
  if (normalise(row.entityType) !== normalise(PARTICIPANT_ENTITY_TYPE) || (action !== 'participant.joined' && action !== 'participant.left'))
    return { kind: 'ignored' };
  const actorRef = nonEmpty(row.actorRef);
  if (actorRef === null)
    return { kind: 'reject', reason: 'missing_actor', field: 'actorRef', detail: 'actorRef is empty (expected the participant reference)' };
  const unwritable = checkTexts(row, WRITTEN_TEXTS);
  if (unwritable) return { kind: 'reject', ...unwritable };
  const occurred = parseLegacyDatetime(row.occurredAt);
  if (occurred.kind !== 'ok')
    return {
      kind: 'reject',
      reason: 'invalid_datetime',
      field: 'occurredAt',
      detail: 'occurredAt is not a datetime (expected YYYY-MM-DD HH:MM:SS[.fff], UTC)',
    };
  const fromPayload = payloadRole(row.payload);
  return {
    kind: 'event',
    warnings: fromPayload.malformed ? ['malformed_payload'] : [],
    event: {
      auditId: row.id.trim(),
      sessionLegacyId: (row.entityId ?? '').trim(),
      actorRef,
      kind: action === 'participant.joined' ? 'joined' : 'left',
      at: occurred.value,
      role: fromPayload.role ?? roleFromActorRef(actorRef),
      roleFromPayload: fromPayload.role !== null,
      displayName: nonEmpty(row.actorDisplay),
    },
  };
}

/** One participant of one session, folded from its events (or from several batches of them). */
export interface ParticipantAggregate {
  sessionLegacyId: string;
  actorRef: string;
  /**
   * docs/design.md §5: the role the earliest join whose payload names a known role gives; when no join does, the
   * role guessed from the actor's type (the same for every event of the actor).
   */
  role: ParticipantRole;
  roleFromPayload: boolean;
  /** When the join that gave `role` from its payload happened; null while the role is the guess. */
  roleJoinedAt: Date | null;
  displayName: string | null;
  firstJoinedAt: Date | null;
  lastLeftAt: Date | null;
  /** The latest join: after `lastLeftAt` (or with no leave), the participant was in the room at the session's end. */
  lastJoinedAt: Date | null;
  joinCount: number;
  leaveCount: number;
}

function earlier(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return b < a ? b : a;
}
function later(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return b > a ? b : a;
}

/** Whether `b`'s payload role was given by a join strictly earlier than `a`'s (or `a` has none): `b`'s role wins. */
export function payloadRoleLeads(a: Pick<ParticipantAggregate, 'roleJoinedAt'>, b: Pick<ParticipantAggregate, 'roleJoinedAt'>): boolean {
  return b.roleJoinedAt !== null && (a.roleJoinedAt === null || b.roleJoinedAt < a.roleJoinedAt);
}

/**
 * Merges two partial aggregates of the same (session, actor). Associative and commutative, so batches
 * can fold in any order (the migrator does the same fold in SQL, `ON CONFLICT … DO UPDATE`): first join
 * = earliest, last leave and last join = latest, joins summed; display name from the earliest join; role from the
 * earliest join whose payload names a known role, else the guess from the actor's type. A tie keeps `a`'s.
 */
export function mergeParticipant(a: ParticipantAggregate, b: ParticipantAggregate): ParticipantAggregate {
  const firstJoinedAt = earlier(a.firstJoinedAt, b.firstJoinedAt);
  // The side holding the earliest join decides the name; without any join yet, the side seen first.
  const bLeads = b.firstJoinedAt !== null && (a.firstJoinedAt === null || b.firstJoinedAt < a.firstJoinedAt);
  const lead = bLeads ? b : a;
  const roleLead = payloadRoleLeads(a, b) ? b : a;
  return {
    sessionLegacyId: a.sessionLegacyId,
    actorRef: a.actorRef,
    role: roleLead.role,
    roleFromPayload: roleLead.roleFromPayload,
    roleJoinedAt: roleLead.roleJoinedAt,
    displayName: lead.displayName,
    firstJoinedAt,
    lastLeftAt: later(a.lastLeftAt, b.lastLeftAt),
    lastJoinedAt: later(a.lastJoinedAt, b.lastJoinedAt),
    joinCount: a.joinCount + b.joinCount,
    leaveCount: a.leaveCount + b.leaveCount,
  };
}

/** The aggregate of a single event. A leave's payload role is not the participant's: only joins decide it. */
export function aggregateOf(event: ParticipantEvent): ParticipantAggregate {
  const joined = event.kind === 'joined';
  const fromPayload = joined && event.roleFromPayload;
  return {
    sessionLegacyId: event.sessionLegacyId,
    actorRef: event.actorRef,
    role: fromPayload ? event.role : roleFromActorRef(event.actorRef),
    roleFromPayload: fromPayload,
    roleJoinedAt: fromPayload ? event.at : null,
    displayName: event.displayName,
    firstJoinedAt: joined ? event.at : null,
    lastLeftAt: joined ? null : event.at,
    lastJoinedAt: joined ? event.at : null,
    joinCount: joined ? 1 : 0,
    leaveCount: joined ? 0 : 1,
  };
}

/**
 * Folds one more event into `into`, in place: the same result as `mergeParticipant(into, aggregateOf(event))`
 * without the two objects a fold would make per event (the 1.4 fold runs this for every audit row).
 */
export function foldEventInto(into: ParticipantAggregate, event: ParticipantEvent): void {
  if (event.kind === 'joined') {
    into.joinCount += 1;
    if (into.lastJoinedAt === null || event.at > into.lastJoinedAt) into.lastJoinedAt = event.at;
    // The event leads when it joined strictly before every join folded so far (as in `mergeParticipant`).
    if (into.firstJoinedAt === null || event.at < into.firstJoinedAt) {
      into.firstJoinedAt = event.at;
      into.displayName = event.displayName;
    }
    // Its payload's role wins when no earlier join named one (a later join's known role beats the guess).
    if (event.roleFromPayload && (into.roleJoinedAt === null || event.at < into.roleJoinedAt)) {
      into.role = event.role;
      into.roleFromPayload = true;
      into.roleJoinedAt = event.at;
    }
  } else {
    into.leaveCount += 1;
    if (into.lastLeftAt === null || event.at > into.lastLeftAt) into.lastLeftAt = event.at;
  }
}

/** The key a fold groups events by: the session's legacy id and the actor. */
export const participantKey = (sessionLegacyId: string, actorRef: string): string => `${sessionLegacyId}\u0000${actorRef}`;

/** Groups events per (session, actorRef) and folds each group. */
export function groupParticipantEvents(events: readonly ParticipantEvent[]): ParticipantAggregate[] {
  const groups = new Map<string, ParticipantAggregate>();
  for (const event of events) {
    const key = participantKey(event.sessionLegacyId, event.actorRef);
    const seen = groups.get(key);
    if (seen) foldEventInto(seen, event);
    else groups.set(key, aggregateOf(event));
  }
  return [...groups.values()];
}

/** A participant with leaves but no join is not a participant: its events are rejected `left_without_join`. */
export function isLeftWithoutJoin(aggregate: Pick<ParticipantAggregate, 'joinCount'>): boolean {
  return aggregate.joinCount === 0;
}
