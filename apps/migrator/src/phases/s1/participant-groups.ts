import {
  aggregateOf,
  mergeParticipant,
  nonEmpty,
  parseLegacyDatetime,
  payloadRole,
  roleFromActorRef,
  type ParticipantAggregate,
  type ParticipantEvent,
} from '@vc/domain/legacy';
import type { ParticipantGroup } from '../../legacy/types';

/**
 * A window's aggregate with the id of the row that leads it (decides the name on a tie of first joins), and of the
 * join its payload role came from (decides the role on a tie of those joins; null while the role is the guess).
 */
export interface LedAggregate {
  aggregate: ParticipantAggregate;
  leadId: bigint;
  roleLeadId: bigint | null;
}

const at = (text: string | null): Date | null => {
  if (text === null) return null;
  const parsed = parseLegacyDatetime(text);
  if (parsed.kind !== 'ok')
    throw new Error(`AuditLog group of the legacy database: occurredAt ${JSON.stringify(text)} is not a datetime (the pushdown passes only plain rows)`);
  return parsed.value;
};

/** The aggregate the domain fold would make of the group's events (name from its lead row, role from its role lead). */
export function aggregateOfGroup(group: ParticipantGroup): LedAggregate {
  const fromPayload = group.roleLeadId === null ? null : payloadRole(group.roleLeadPayload).role;
  if (group.roleLeadId !== null && fromPayload === null)
    throw new Error(`AuditLog group of the legacy database: row ${group.roleLeadId} was taken for a known payload role and names none`);
  return {
    leadId: BigInt(group.leadId),
    roleLeadId: group.roleLeadId === null ? null : BigInt(group.roleLeadId),
    aggregate: {
      sessionLegacyId: group.entityId,
      actorRef: group.actorRef,
      role: fromPayload ?? roleFromActorRef(group.actorRef),
      roleFromPayload: fromPayload !== null,
      roleJoinedAt: fromPayload === null ? null : at(group.roleJoinedAt),
      displayName: nonEmpty(group.leadDisplay),
      firstJoinedAt: at(group.firstJoinedAt),
      lastLeftAt: at(group.lastLeftAt),
      lastJoinedAt: at(group.lastJoinedAt),
      joinCount: group.joins,
      leaveCount: group.events - group.joins,
    },
  };
}

/**
 * Which of two partial aggregates of one participant leads, exactly as folding their events one by one in
 * id order would decide: the earliest join, the lower id on a tie; with no join on either side, the lower id.
 */
function leader(a: LedAggregate, b: LedAggregate): [LedAggregate, LedAggregate] {
  const [x, y] = [a.aggregate.firstJoinedAt, b.aggregate.firstJoinedAt];
  if (x && y && x.getTime() !== y.getTime()) return x < y ? [a, b] : [b, a];
  if (x && !y) return [a, b];
  if (y && !x) return [b, a];
  return a.leadId <= b.leadId ? [a, b] : [b, a];
}

/** Which side's payload role the serial fold would keep: the earliest role join, the lower id on a tie. */
function roleLeader(a: LedAggregate, b: LedAggregate): [LedAggregate, LedAggregate] {
  const [x, y] = [a.aggregate.roleJoinedAt, b.aggregate.roleJoinedAt];
  if (x && y && x.getTime() !== y.getTime()) return x < y ? [a, b] : [b, a];
  if (x && !y) return [a, b];
  if (y && !x) return [b, a];
  return (a.roleLeadId ?? a.leadId) <= (b.roleLeadId ?? b.leadId) ? [a, b] : [b, a];
}

function mergeLed(a: LedAggregate, b: LedAggregate): LedAggregate {
  const [lead, other] = leader(a, b);
  // `mergeParticipant` keeps its first argument's role and name unless the second joined strictly earlier.
  const merged = mergeParticipant(lead.aggregate, other.aggregate);
  const [roleLead] = roleLeader(a, b);
  const { role, roleFromPayload, roleJoinedAt } = roleLead.aggregate;
  return { leadId: lead.leadId, roleLeadId: roleLead.roleLeadId, aggregate: { ...merged, role, roleFromPayload, roleJoinedAt } };
}

/**
 * One window's participants: the database's groups and the events the migrator parsed row by row, merged
 * per (session, actor) as the streaming fold of the same rows would.
 */
export function foldWindow(groups: readonly LedAggregate[], events: ReadonlyArray<ParticipantEvent>): ParticipantAggregate[] {
  const all = new Map<string, LedAggregate>();
  const add = (led: LedAggregate) => {
    const key = `${led.aggregate.sessionLegacyId}\u0000${led.aggregate.actorRef}`;
    const seen = all.get(key);
    all.set(key, seen ? mergeLed(seen, led) : led);
  };
  for (const g of groups) add(g);
  for (const e of events) {
    const aggregate = aggregateOf(e);
    add({ aggregate, leadId: BigInt(e.auditId), roleLeadId: aggregate.roleJoinedAt === null ? null : BigInt(e.auditId) });
  }
  return [...all.values()].map((l) => l.aggregate);
}
