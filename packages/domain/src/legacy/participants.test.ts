import { describe, expect, it } from 'vitest';
import {
  aggregateOf,
  foldEventInto,
  groupParticipantEvents,
  isLeftWithoutJoin,
  mergeParticipant,
  parseParticipantEvent,
  payloadRole,
  roleFromActorRef,
  type LegacyAuditLog,
  type ParticipantEvent,
} from './participants';

function auditRow(overrides: Partial<LegacyAuditLog> = {}): LegacyAuditLog {
  return {
    id: '5001',
    tenantId: 'acme',
    entityType: 'VirtualSession',
    entityId: '1001',
    action: 'participant.joined',
    actorRef: 'Patient/p-1',
    actorDisplay: 'P One',
    payload: '{"role":"patient"}',
    occurredAt: '2025-06-01 10:02:00',
    ...overrides,
  };
}

function event(overrides: Partial<LegacyAuditLog>): ParticipantEvent {
  const parsed = parseParticipantEvent(auditRow(overrides));
  if (parsed.kind !== 'event') throw new Error(`expected an event, got ${parsed.kind}`);
  return parsed.event;
}

describe('participant events (plan 1.4)', () => {
  it.each([
    ['Patient/1', 'patient'],
    ['Practitioner/7', 'practitioner'],
    ['RelatedPerson/3', 'caregiver'],
    ['Device/9', 'other'],
    ['someone', 'other'],
  ] as const)('actorRef %j without a payload role is a %s', (actorRef, role) => {
    expect(roleFromActorRef(actorRef)).toBe(role);
    expect(event({ actorRef, payload: null }).role).toBe(role);
  });

  it('a known payload role beats the actor type', () => {
    expect(event({ actorRef: 'Practitioner/7', payload: '{"role":"Interpreter"}' }).role).toBe('interpreter');
  });

  it('an unknown payload role falls back to the actor type, without warning', () => {
    const parsed = parseParticipantEvent(auditRow({ actorRef: 'RelatedPerson/3', payload: '{"role":"uncle"}' }));
    expect(parsed).toMatchObject({ kind: 'event', warnings: [], event: { role: 'caregiver', roleFromPayload: false } });
  });

  it('a malformed payload warns malformed_payload and takes the role from the actor type', () => {
    const parsed = parseParticipantEvent(auditRow({ actorRef: 'Practitioner/7', payload: '{"role": "interp' }));
    expect(parsed).toMatchObject({ kind: 'event', warnings: ['malformed_payload'], event: { role: 'practitioner' } });
  });

  it('an event without actorRef is rejected missing_actor', () => {
    expect(parseParticipantEvent(auditRow({ actorRef: ' ' }))).toMatchObject({ kind: 'reject', reason: 'missing_actor', field: 'actorRef' });
  });

  it('an event with an unparsable occurredAt is rejected invalid_datetime', () => {
    expect(parseParticipantEvent(auditRow({ occurredAt: 'soon' }))).toMatchObject({ kind: 'reject', reason: 'invalid_datetime', field: 'occurredAt' });
  });

  it.each([{ entityType: 'Patient' }, { action: 'session.created' }])('audit rows that are not participant history (%j) are ignored', (overrides) => {
    expect(parseParticipantEvent(auditRow(overrides))).toEqual({ kind: 'ignored' });
  });
});

describe('participant grouping', () => {
  const p1 = { actorRef: 'Patient/p-1' };
  it('events group per (session, actor): earliest join, latest leave, number of joins', () => {
    const groups = groupParticipantEvents([
      event({ ...p1, id: '1', occurredAt: '2025-06-01 10:05:00' }),
      event({ ...p1, id: '2', action: 'participant.left', occurredAt: '2025-06-01 10:10:00' }),
      event({ ...p1, id: '3', occurredAt: '2025-06-01 10:02:00' }),
      event({ ...p1, id: '4', action: 'participant.left', occurredAt: '2025-06-01 10:20:00' }),
      event({ actorRef: 'Practitioner/d-1', payload: null, id: '5', occurredAt: '2025-06-01 10:01:00' }),
      event({ ...p1, entityId: '1002', id: '6', occurredAt: '2025-06-01 11:00:00' }),
    ]);
    expect(
      groups.map((g) => [g.sessionLegacyId, g.actorRef, g.role, g.firstJoinedAt?.toISOString(), g.lastLeftAt?.toISOString() ?? null, g.joinCount]),
    ).toEqual([
      ['1001', 'Patient/p-1', 'patient', '2025-06-01T10:02:00.000Z', '2025-06-01T10:20:00.000Z', 2],
      ['1001', 'Practitioner/d-1', 'practitioner', '2025-06-01T10:01:00.000Z', null, 1],
      ['1002', 'Patient/p-1', 'patient', '2025-06-01T11:00:00.000Z', null, 1],
    ]);
  });

  it('the latest join is kept beside the latest leave, so a rejoin after the last leave is told apart, in any order', () => {
    const rejoined = [
      event({ ...p1, id: '1', occurredAt: '2025-06-01 10:00:00' }),
      event({ ...p1, id: '2', action: 'participant.left', occurredAt: '2025-06-01 10:10:00' }),
      event({ ...p1, id: '3', occurredAt: '2025-06-01 10:12:00' }),
    ];
    const leftAgain = [...rejoined, event({ ...p1, id: '4', action: 'participant.left', occurredAt: '2025-06-01 10:20:00' })];
    for (const events of [rejoined, [...rejoined].reverse()])
      expect(groupParticipantEvents(events)[0]).toMatchObject({
        firstJoinedAt: new Date('2025-06-01T10:00:00Z'),
        lastLeftAt: new Date('2025-06-01T10:10:00Z'),
        lastJoinedAt: new Date('2025-06-01T10:12:00Z'),
      });
    const halves = mergeParticipant(groupParticipantEvents(leftAgain.slice(2))[0]!, groupParticipantEvents(leftAgain.slice(0, 2))[0]!);
    expect(halves).toMatchObject({ lastLeftAt: new Date('2025-06-01T10:20:00Z'), lastJoinedAt: new Date('2025-06-01T10:12:00Z') });
    expect(groupParticipantEvents([event({ action: 'participant.left' })])[0]!.lastJoinedAt).toBeNull();
  });

  it('a participant who never left has last_left_at NULL', () => {
    expect(groupParticipantEvents([event({})])[0]!.lastLeftAt).toBeNull();
  });

  it('an actor with leaves but no join in that session is left_without_join', () => {
    const [group] = groupParticipantEvents([event({ action: 'participant.left' }), event({ action: 'participant.left', id: '2' })]);
    expect([group!.joinCount, group!.leaveCount, isLeftWithoutJoin(group!)]).toEqual([0, 2, true]);
  });

  it('folding is order-independent: role and display name come from the earliest join, whatever the order', () => {
    const events = [
      event({ id: '1', action: 'participant.left', occurredAt: '2025-06-01 10:30:00', actorDisplay: 'leaver', payload: '{"role":"caregiver"}' }),
      event({ id: '2', payload: '{"role":"interpreter"}', occurredAt: '2025-06-01 10:07:00', actorDisplay: null }),
      event({ id: '3', payload: null, occurredAt: '2025-06-01 10:09:00', actorDisplay: 'second join' }),
    ];
    const forward = groupParticipantEvents(events);
    const backward = groupParticipantEvents([...events].reverse());
    expect(backward).toEqual(forward);
    expect(forward[0]).toMatchObject({ role: 'interpreter', displayName: null, joinCount: 2, leaveCount: 1 });
  });

  it('folding an event in place equals merging its aggregate, for every order of joins, leaves and tied times', () => {
    const pool = [
      event({ id: '1', occurredAt: '2025-06-01 10:05:00', payload: '{"role":"caregiver"}', actorDisplay: 'a' }),
      event({ id: '2', occurredAt: '2025-06-01 10:05:00', payload: '{"role":"interpreter"}', actorDisplay: 'b' }),
      event({ id: '3', occurredAt: '2025-06-01 10:01:00', payload: null, actorDisplay: null }),
      event({ id: '4', action: 'participant.left', occurredAt: '2025-06-01 10:30:00', actorDisplay: 'c' }),
      event({ id: '5', action: 'participant.left', occurredAt: '2025-06-01 10:30:00', actorDisplay: 'd' }),
      event({ id: '6', action: 'participant.left', occurredAt: '2025-06-01 09:00:00', payload: '{"role":"other"}' }),
    ];
    // Every sequence of 4 events drawn from the pool (repeats allowed): 6^4 orders.
    for (let n = 0; n < 6 ** 4; n++) {
      const seq = [0, 1, 2, 3].map((k) => pool[Math.floor(n / 6 ** k) % 6]!);
      const merged = seq.slice(1).reduce((acc, e) => mergeParticipant(acc, aggregateOf(e)), aggregateOf(seq[0]!));
      const inPlace = aggregateOf(seq[0]!);
      for (const e of seq.slice(1)) foldEventInto(inPlace, e);
      expect(inPlace).toEqual(merged);
    }
  });
});

describe('payload roles', () => {
  it('answer the same for a payload seen before, past the memo bound, and for long payloads', () => {
    const cases: Array<[string | null, { role: string | null; malformed: boolean }]> = [
      ['{"role":"Practitioner "}', { role: 'practitioner', malformed: false }],
      ['{"role":"patient","role":"caregiver"}', { role: 'caregiver', malformed: false }],
      ['{"role":"patient"', { role: null, malformed: true }],
      ['  {"role":"interpreter"}  ', { role: 'interpreter', malformed: false }],
      [`{"role":"patient","pad":"${'x'.repeat(2000)}"}`, { role: 'patient', malformed: false }],
      [`{"role":"patient","pad":"${'x'.repeat(2000)}"`, { role: null, malformed: true }],
      ['\\N', { role: null, malformed: false }],
      [null, { role: null, malformed: false }],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [payload, expected] of cases) expect(payloadRole(payload)).toEqual(expected);
      // More distinct payloads than the memo holds: it empties and fills again, answers unchanged.
      for (let i = 0; i < 5000; i++) expect(payloadRole(`{"role":"other","n":${i}}`).role).toBe('other');
    }
  });
});
