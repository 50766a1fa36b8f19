import { describe, expect, it } from 'vitest';
import { groupParticipantEvents, parseParticipantEvent, type LegacyAuditLog, type ParticipantEvent } from './participants';

/**
 * Review 4: docs/design.md §5 (Participants): "role = payload.role when it is a known role, else from the
 * actorRef type". The fold takes role from the earliest join only, so a payload role carried by a later
 * join of the same participant loses to a role guessed from the actor's type (the aggregate even says
 * `roleFromPayload: false` while one of its events named a known role).
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
});
