import { describe, expect, it } from 'vitest';
import { buildEncounter, needsEncounter } from './build-encounter';

const system = 'urn:virtual-care:session-id';
const startedAt = new Date('2026-03-01T10:00:00.000Z');
const endedAt = new Date('2026-03-01T10:20:00.000Z');

describe('buildEncounter', () => {
  it('makes a finished VR Encounter identified by the session id, with period and participants', () => {
    const encounter = buildEncounter(
      { id: 's-1', patientRef: 'Patient/7', practitionerRef: 'Practitioner/3', startedAt, endedAt },
      [
        { participantRef: 'Patient/7', firstJoinedAt: startedAt, lastLeftAt: endedAt },
        { participantRef: 'RelatedPerson/2', firstJoinedAt: startedAt, lastLeftAt: null },
        { participantRef: 'Practitioner/3', firstJoinedAt: startedAt, lastLeftAt: endedAt },
      ],
      system,
    );
    expect(encounter).toEqual({
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
      identifier: [{ system, value: 's-1' }],
      subject: { reference: 'Patient/7' },
      period: { start: '2026-03-01T10:00:00.000Z', end: '2026-03-01T10:20:00.000Z' },
      participant: [
        {
          type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF', display: 'primary performer' }] }],
          individual: { reference: 'Practitioner/3' },
          period: { start: '2026-03-01T10:00:00.000Z', end: '2026-03-01T10:20:00.000Z' },
        },
        {
          type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PART', display: 'Participation' }] }],
          individual: { reference: 'RelatedPerson/2' },
          period: { start: '2026-03-01T10:00:00.000Z' },
        },
      ],
    });
  });

  it('gives a legacy completed session without a start a finished Encounter with a zero-length period at its end and no participant when nobody individual joined', () => {
    const encounter = buildEncounter({ id: 's-2', patientRef: 'Patient/1', practitionerRef: null, startedAt: null, endedAt }, [], system);
    expect(encounter.status).toBe('finished');
    expect(encounter.period).toEqual({ start: endedAt.toISOString(), end: endedAt.toISOString() });
    expect(encounter.participant).toEqual([]);
  });

  it('makes a session ended before it began (never started) cancelled, with its end and no start', () => {
    const session = { id: 's-3', patientRef: 'Patient/1', practitionerRef: 'Practitioner/2', startedAt: null, endedAt, endedBeforeStart: true };
    const encounter = buildEncounter(session, [], system);
    expect([encounter.status, encounter.period]).toEqual(['cancelled', { end: endedAt.toISOString() }]);
    expect(encounter.participant.map((p) => [p.individual.reference, p.period])).toEqual([['Practitioner/2', undefined]]);
  });
});

describe('needsEncounter', () => {
  it.each([
    [null, true],
    [new Date('2026-01-01T00:00:00Z'), true],
    [endedAt, true],
    [new Date('2026-04-01T00:00:00Z'), false],
  ])('fhirEraStart %s → %s', (eraStart, expected) => {
    expect(needsEncounter(endedAt, eraStart)).toBe(expected);
  });
});
