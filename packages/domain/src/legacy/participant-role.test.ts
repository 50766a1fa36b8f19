import { describe, expect, it } from 'vitest';
import { aggregateOf, groupParticipantEvents, mergeParticipant, parseParticipantEvent, type LegacyAuditLog, type ParticipantEvent } from './participants';

/**
 * docs/design.md §5 (Participants): "role = payload.role when it is a known role, else from the
 * actorRef type", over all of a participant's joins: the earliest join whose payload names a known role decides;
 * when none does, the role guessed from the actor's type. A payload role carried by a later join beats that guess.
 */
function event(overrides: Partial<LegacyAuditLog>): ParticipantEvent {
  const parsed = parseParticipantEvent({
    id: '5001',
    tenantId: 'acme',
    entityType: 'VirtualSession',
    entityId: '1001',
    action: 'participant.joined',
    actorRef: 'Practitioner/7',
    actorDisplay: 'Interp One',
    payload: null,
    occurredAt: '2025-06-01 10:02:00',
    ...overrides,
  });
  if (parsed.kind !== 'event') throw new Error(`expected an event, got ${parsed.kind}`);
  return parsed.event;
}

describe('participant role (design §5: payload.role when known, else the actor type)', () => {
  it('a known payload role on a later join beats the role guessed from the actor type of the first join', () => {
    const [group] = groupParticipantEvents([
      event({ id: '1', payload: null, occurredAt: '2025-06-01 10:02:00' }),
      event({ id: '2', action: 'participant.left', payload: null, occurredAt: '2025-06-01 10:05:00' }),
      event({ id: '3', payload: '{"role":"interpreter"}', occurredAt: '2025-06-01 10:06:00' }),
    ]);
    expect(group).toMatchObject({ joinCount: 2, role: 'interpreter', roleFromPayload: true });
  });

  it('a malformed payload on the first join does not hide the known role of the next one', () => {
    const [group] = groupParticipantEvents([
      event({ id: '1', payload: '{"role": "interp', occurredAt: '2025-06-01 10:02:00' }),
      event({ id: '2', payload: '{"role":"interpreter"}', occurredAt: '2025-06-01 10:03:00' }),
    ]);
    expect(group).toMatchObject({ role: 'interpreter' });
  });

  it('the earliest join naming a known role decides between two payload roles, in any fold order', () => {
    const events = [
      event({ id: '1', payload: '{"role":"caregiver"}', occurredAt: '2025-06-01 10:04:00' }),
      event({ id: '2', payload: '{"role":"interpreter"}', occurredAt: '2025-06-01 10:03:00' }),
      event({ id: '3', payload: null, occurredAt: '2025-06-01 10:01:00' }),
    ];
    expect(groupParticipantEvents(events)[0]).toMatchObject({ role: 'interpreter', roleJoinedAt: new Date('2025-06-01T10:03:00Z') });
    const [x, y, z] = events.map(aggregateOf) as [ReturnType<typeof aggregateOf>, ReturnType<typeof aggregateOf>, ReturnType<typeof aggregateOf>];
    for (const merged of [
      mergeParticipant(mergeParticipant(x, y), z),
      mergeParticipant(z, mergeParticipant(y, x)),
      mergeParticipant(mergeParticipant(z, x), y),
    ])
      expect(merged).toMatchObject({ role: 'interpreter', roleFromPayload: true, firstJoinedAt: new Date('2025-06-01T10:01:00Z') });
  });

  it("a leave's payload role is not the participant's, and with no known payload role the actor type decides", () => {
    const [group] = groupParticipantEvents([
      event({ id: '1', payload: '{"role":"wizard"}', occurredAt: '2025-06-01 10:02:00' }),
      event({ id: '2', action: 'participant.left', payload: '{"role":"interpreter"}', occurredAt: '2025-06-01 10:05:00' }),
    ]);
    expect(group).toMatchObject({ role: 'practitioner', roleFromPayload: false, roleJoinedAt: null });
  });
});
