import { buildEncounter, type EncounterParticipant, type EncounterSession } from '@vc/domain/encounter';
import { describe, expect, it } from 'vitest';
import { r4Errors } from '../testing';
import { SESSION_IDENTIFIER_SYSTEM } from './types';

/** Every shape of Encounter the service (session end) and the migrator (S2 2.4, S4 4.1 backfill) build. */
const session: EncounterSession = {
  id: '00000000-0000-4000-8000-000000000001',
  patientRef: 'Patient/p-1',
  practitionerRef: 'Practitioner/pr-1',
  startedAt: new Date('2026-11-20T10:00:00.000Z'),
  endedAt: new Date('2026-11-20T10:30:00.000Z'),
};
const joined: EncounterParticipant[] = [
  { participantRef: 'Practitioner/pr-1', firstJoinedAt: new Date('2026-11-20T10:00:00.000Z'), lastLeftAt: new Date('2026-11-20T10:30:00.000Z') },
  { participantRef: 'RelatedPerson/rp-1', firstJoinedAt: new Date('2026-11-20T10:05:00.000Z'), lastLeftAt: null },
  { participantRef: 'Patient/p-1', firstJoinedAt: new Date('2026-11-20T10:01:00.000Z'), lastLeftAt: null },
];

describe('buildEncounter writes valid FHIR R4 (@medplum/core, R4 definitions)', () => {
  it.each<[string, Partial<EncounterSession>, EncounterParticipant[]]>([
    ['a session with its practitioner, a caregiver and the patient', {}, joined],
    ['a session nobody joined', {}, []],
    ['no practitioner of record', { practitionerRef: null }, joined],
    ['ended before it started (zero-length period at its end)', { startedAt: null }, []],
    ['a legacy session that never recorded its end (period start only)', { endedAt: null }, joined],
    ['a legacy session that recorded neither start nor end (no period)', { startedAt: null, endedAt: null }, []],
    ['a session whose end precedes its start (legacy clocks)', { startedAt: new Date('2026-11-20T11:00:00.000Z') }, []],
    [
      'a participant whose only leave precedes their only join (legacy clocks, a lost first join)',
      {},
      [{ participantRef: 'Practitioner/pr-1', firstJoinedAt: new Date('2026-11-20T10:20:00.000Z'), lastLeftAt: new Date('2026-11-20T10:05:00.000Z') }],
    ],
  ])('%s', (_name, overrides, participants) => {
    const encounter = buildEncounter({ ...session, ...overrides }, participants, SESSION_IDENTIFIER_SYSTEM);
    expect(r4Errors(encounter)).toEqual([]);
    expect(encounter.status).toBe('finished');
  });

  it('a session the service ended before it began is cancelled, its period only its end (valid R4)', () => {
    const encounter = buildEncounter({ ...session, startedAt: null, endedBeforeStart: true }, [joined[2]!], SESSION_IDENTIFIER_SYSTEM);
    expect(r4Errors(encounter)).toEqual([]);
    expect([encounter.status, encounter.period]).toEqual(['cancelled', { end: '2026-11-20T10:30:00.000Z' }]);
  });

  it('puts what is known in period, and nothing invented', () => {
    expect(buildEncounter({ ...session, endedAt: null }, [], SESSION_IDENTIFIER_SYSTEM).period).toEqual({ start: '2026-11-20T10:00:00.000Z' });
    expect(buildEncounter({ ...session, startedAt: null, endedAt: null }, [], SESSION_IDENTIFIER_SYSTEM).period).toBeUndefined();
  });

  it('leaves out an end before its start (per-1) and keeps the start', () => {
    const late = new Date('2026-11-20T10:20:00.000Z');
    const early = new Date('2026-11-20T10:05:00.000Z');
    const encounter = buildEncounter(
      { ...session, startedAt: late, endedAt: early },
      [{ participantRef: 'Practitioner/pr-1', firstJoinedAt: late, lastLeftAt: early }],
      SESSION_IDENTIFIER_SYSTEM,
    );
    expect(encounter.period).toEqual({ start: late.toISOString() });
    expect(encounter.participant[0]!.period).toEqual({ start: late.toISOString() });
  });

  it.each<[string, Partial<EncounterParticipant>, string | undefined]>([
    [
      'rejoined after their latest leave: in the room at the end',
      { lastLeftAt: new Date('2026-11-20T10:05:00.000Z'), lastJoinedAt: new Date('2026-11-20T10:10:00.000Z') },
      '2026-11-20T10:30:00.000Z',
    ],
    [
      'joined (live) and never left: in the room at the end',
      { lastLeftAt: null, lastJoinedAt: new Date('2026-11-20T10:00:00.000Z') },
      '2026-11-20T10:30:00.000Z',
    ],
    [
      'left after their latest join: ends at the leave',
      { lastLeftAt: new Date('2026-11-20T10:20:00.000Z'), lastJoinedAt: new Date('2026-11-20T10:10:00.000Z') },
      '2026-11-20T10:20:00.000Z',
    ],
    [
      'latest join unknown (legacy): ends at the latest leave, as known',
      { lastLeftAt: new Date('2026-11-20T10:05:00.000Z'), lastJoinedAt: null },
      '2026-11-20T10:05:00.000Z',
    ],
    ['latest join unknown and never left (legacy): no end', { lastLeftAt: null }, undefined],
  ])('a participant %s', (_name, participant, end) => {
    const p: EncounterParticipant = {
      participantRef: 'Practitioner/pr-1',
      firstJoinedAt: new Date('2026-11-20T10:00:00.000Z'),
      lastLeftAt: null,
      ...participant,
    };
    const encounter = buildEncounter(session, [p], SESSION_IDENTIFIER_SYSTEM);
    expect(encounter.participant[0]!.period).toEqual({ start: '2026-11-20T10:00:00.000Z', ...(end ? { end } : {}) });
    expect(r4Errors(encounter)).toEqual([]);
  });

  it.each(['Practitioner/a b', 'Practitioner/abc/_history/2', `Practitioner/${'a'.repeat(65)}`, 'RelatedPerson/', 'p-1'])(
    'leaves a participant or practitioner of record whose ref %j is not <Type>/<FHIR id> out of the Encounter',
    (ref) => {
      const encounter = buildEncounter(
        { ...session, practitionerRef: ref },
        [{ participantRef: ref, firstJoinedAt: session.startedAt, lastLeftAt: null }],
        SESSION_IDENTIFIER_SYSTEM,
      );
      expect(encounter.participant).toEqual([]);
      expect(r4Errors(encounter)).toEqual([]);
    },
  );

  it('the check itself refuses a Period ending before it starts (per-1, which medplum does not evaluate), wherever it is', () => {
    const valid = buildEncounter(session, joined, SESSION_IDENTIFIER_SYSTEM);
    const backwards = { start: '2026-11-20T10:20:00.000Z', end: '2026-11-20T10:05:00.000Z' };
    expect(r4Errors({ ...valid, period: backwards })).toEqual([
      'Encounter.period: Constraint per-1 not met: If present, start SHALL have a lower value than end',
    ]);
    expect(r4Errors({ ...valid, participant: [{ ...valid.participant[0], period: backwards }] }).join('\n')).toMatch(
      /Encounter\.participant\[0\]\.period: Constraint per-1/,
    );
    // FHIRPath cannot order a date against a dateTime, nor dates of different precision: per-1 holds then.
    expect(r4Errors({ ...valid, period: { start: '2026-11-20', end: '2026-11-19T10:00:00Z' } })).toEqual([]);
    expect(r4Errors({ ...valid, period: { start: '2026-11', end: '2026-10-31' } })).toEqual([]);
    expect(r4Errors({ ...valid, period: { start: '2026-11-20', end: '2026-11-19' } }).join('\n')).toMatch(/per-1/);
    // Instants compare as instants, whatever their zone: 10:00+02:00 is 08:00Z.
    expect(r4Errors({ ...valid, period: { start: '2026-11-20T10:00:00+02:00', end: '2026-11-20T09:00:00Z' } })).toEqual([]);
  });
});
