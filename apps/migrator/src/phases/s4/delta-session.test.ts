import type { LegacyVirtualSession } from '@vc/domain/legacy';
import { describe, expect, it } from 'vitest';
import { LOADED_UPCOMING, mapDeltaSession } from './delta-session';

const asOf = new Date('2026-05-01T00:00:00.000Z');

function row(overrides: Partial<LegacyVirtualSession>): LegacyVirtualSession {
  return {
    id: '10',
    tenantId: 't1',
    externalId: null,
    patientRef: 'Patient/p1',
    practitionerRef: 'Practitioner/d1',
    scheduledStart: '2026-05-03 09:00:00',
    scheduledEnd: '2026-05-03 09:30:00',
    startedAt: null,
    endedAt: null,
    status: 'scheduled',
    videoBackend: 'jitsi',
    roomName: null,
    cancelReason: null,
    encounterRef: null,
    createdAt: '2026-04-20 08:00:00',
    updatedAt: '2026-04-29 08:00:00',
    ...overrides,
  };
}

describe('mapDeltaSession', () => {
  it.each([
    ['an upcoming scheduled session loads as scheduled', {}, 'scheduled', null],
    ['an upcoming waiting session loads as scheduled', { status: 'waiting' }, 'scheduled', null],
    [
      'an upcoming session legacy cancelled loads as cancelled with its reason',
      { status: 'Canceled', cancelReason: 'patient request' },
      'cancelled',
      'patient request',
    ],
    ['an upcoming no_show without reason keeps the normalised status as reason', { status: ' no_show ' }, 'cancelled', 'no_show'],
    [
      'a historical session takes the S1 mapping',
      { scheduledStart: '2026-04-25 09:00:00', startedAt: '2026-04-25 09:01:00', endedAt: '2026-04-25 09:20:00', status: 'completed' },
      'ended',
      null,
    ],
    [
      'a historical session that never started is cancelled not_started_before_migration',
      { scheduledStart: '2026-04-25 09:00:00' },
      'cancelled',
      'not_started_before_migration',
    ],
  ] as const)('%s', (_name, overrides, status, cancelReason) => {
    const mapped = mapDeltaSession(row(overrides), asOf, 't1');
    expect(mapped.kind).toBe('load');
    if (mapped.kind === 'load') expect([mapped.session.status, mapped.session.cancelReason]).toEqual([status, cancelReason]);
  });

  it('an upcoming session has no start or end even if legacy says so', () => {
    const mapped = mapDeltaSession(row({ startedAt: '2026-05-03 09:00:00' }), asOf, 't1');
    expect(mapped.kind === 'load' && [mapped.session.startedAt, mapped.session.endedAt]).toEqual([null, null]);
  });

  it('marks a session mapped as upcoming, and only such a one, so a later sync re-maps it once past', () => {
    const upcoming = mapDeltaSession(row({ status: 'failed', startedAt: '2026-05-03 08:55:00' }), asOf, 't1');
    const past = mapDeltaSession(row({ status: 'failed', startedAt: '2026-05-03 08:55:00' }), new Date('2026-05-04T00:00:00Z'), 't1');
    expect([upcoming, past].map((m) => m.kind === 'load' && [m.session.status, m.session.startedAt, m.session.migratedFrom[LOADED_UPCOMING] ?? false])).toEqual(
      [
        ['cancelled', null, true],
        ['cancelled', new Date('2026-05-03T08:55:00Z'), false],
      ],
    );
  });

  it.each([
    ['an empty patientRef is rejected missing_patient', { patientRef: ' ' }, 'missing_patient'],
    ['an unparsable createdAt is rejected invalid_datetime', { createdAt: 'yesterday' }, 'invalid_datetime'],
  ] as const)('%s', (_name, overrides, reason) => {
    expect(mapDeltaSession(row(overrides), asOf, 't1')).toMatchObject({ kind: 'reject', reason });
  });

  it('warns defaulted_video_backend on an upcoming session without backend', () => {
    const mapped = mapDeltaSession(row({ videoBackend: null }), asOf, 't1');
    expect(mapped.kind === 'load' && mapped.warnings).toEqual(['defaulted_video_backend']);
  });
});
