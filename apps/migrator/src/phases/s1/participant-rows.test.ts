import type { ParticipantAggregate } from '@vc/domain/legacy';
import { describe, expect, it } from 'vitest';
import { encodeRows } from '../../engine/copy-text';
import { participantRows } from './participant-rows';

const aggregate = (overrides: Partial<ParticipantAggregate>): ParticipantAggregate => ({
  sessionLegacyId: '1001',
  actorRef: 'Patient/1',
  role: 'patient',
  roleFromPayload: true,
  roleJoinedAt: new Date('2026-05-01T10:00:00.123Z'),
  displayName: 'Ann',
  firstJoinedAt: new Date('2026-05-01T10:00:00.123Z'),
  lastLeftAt: null,
  lastJoinedAt: new Date('2026-05-01T10:20:00.456Z'),
  joinCount: 1,
  leaveCount: 0,
  ...overrides,
});

describe('participant rows', () => {
  it('are the COPY lines of the row values, escapes and NULLs included', () => {
    const rows = [
      { sessionId: '0b7f6a36-4c1e-4f43-9d2a-6a1f4d3c2b10', aggregate: aggregate({}) },
      {
        sessionId: '5c0e8d9a-1b2c-4d3e-8f40-112233445566',
        aggregate: aggregate({
          actorRef: 'Practitioner/\\7\t',
          role: 'practitioner',
          roleFromPayload: false,
          roleJoinedAt: null,
          displayName: 'Dr.\n"Kim"\r\\',
          firstJoinedAt: null,
          lastLeftAt: new Date('2026-05-01T11:30:00Z'),
          lastJoinedAt: null,
          joinCount: 0,
          leaveCount: 2,
        }),
      },
      { sessionId: '5c0e8d9a-1b2c-4d3e-8f40-112233445566', aggregate: aggregate({ actorRef: 'RelatedPerson/3', displayName: null, joinCount: 12 }) },
    ];
    const tenant = 'acme\tq';
    const values = rows.map(({ sessionId, aggregate: a }) => [
      sessionId,
      tenant,
      a.actorRef,
      a.role,
      a.displayName,
      a.firstJoinedAt,
      a.lastLeftAt,
      a.lastJoinedAt,
      a.joinCount,
      a.roleJoinedAt,
      'audit_backfill',
    ]);
    expect(participantRows(tenant, rows)).toEqual(encodeRows(values));
  });
});
