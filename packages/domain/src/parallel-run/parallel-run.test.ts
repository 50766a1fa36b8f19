import { describe, expect, it } from 'vitest';
import { compareFields, compareParallelRun, expectedStatus, matchSessions, type CandidateSide, type LegacySide, type ParallelRunOptions } from './index';

const t = (iso: string) => new Date(`2026-05-10T${iso}.000Z`);

function legacy(overrides: Partial<LegacySide> = {}): LegacySide {
  return {
    legacyId: '1',
    externalId: null,
    tenantId: 't1',
    patientRef: 'Patient/p1',
    practitionerRef: 'Practitioner/d1',
    scheduledStart: t('10:00:00'),
    status: 'completed',
    startedAt: t('10:00:00'),
    endedAt: t('10:30:00'),
    participantRefs: ['Patient/p1', 'Practitioner/d1'],
    hasEncounter: true,
    billingCodes: ['99213'],
    ...overrides,
  };
}

function candidate(overrides: Partial<CandidateSide> = {}): CandidateSide {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    legacyId: null,
    tenantId: 't1',
    patientRef: 'Patient/p1',
    practitionerRef: 'Practitioner/d1',
    scheduledStart: t('10:00:00'),
    status: 'ended',
    startedAt: t('10:00:05'),
    endedAt: t('10:30:20'),
    participantRefs: ['Practitioner/d1', 'Patient/p1'],
    hasEncounter: true,
    billingCodes: ['99213'],
    ...overrides,
  };
}

const options: ParallelRunOptions = {
  window: { from: t('00:00:00'), to: t('23:59:59') },
  durationToleranceSeconds: 60,
  mismatchTolerance: 0,
  minParallelPairs: 0,
  maxUnmatched: 0,
  fhirEraStart: null,
  serviceMode: 'live',
  maxSamplesPerField: 5,
};

describe('expectedStatus', () => {
  it.each([
    ['completed', null, 'parallel', 'ended'],
    [' Finished ', null, 'migrated', 'ended'],
    ['no_show', null, 'parallel', 'cancelled'],
    ['CANCELED', null, 'migrated', 'cancelled'],
    ['active', null, 'parallel', 'in_progress'],
    ['waiting', null, 'parallel', 'waiting'],
    ['scheduled', null, 'parallel', 'scheduled'],
    ['in_progress', t('10:00:00'), 'migrated', 'ended'],
    ['scheduled', null, 'migrated', 'cancelled'],
    ['bogus', null, 'parallel', undefined],
    ['constructor', null, 'parallel', undefined],
  ] as const)('legacy %j (started %j) in a %s pair is expected as %j', (status, startedAt, kind, expected) => {
    expect(expectedStatus(status, startedAt, kind)).toBe(expected);
  });
});

describe('matchSessions', () => {
  it('pairs a migrated copy by legacy id before anything else', () => {
    const m = matchSessions([legacy()], [candidate({ legacyId: '1' })]);
    expect(m.pairs.map((p) => p.kind)).toEqual(['migrated']);
  });
  it('pairs a mirrored session by the legacy externalId', () => {
    const m = matchSessions(
      [legacy({ externalId: '00000000-0000-4000-8000-000000000002', scheduledStart: null })],
      [candidate({ id: '00000000-0000-4000-8000-000000000002' })],
    );
    expect([m.pairs.length, m.pairs[0]?.kind]).toEqual([1, 'parallel']);
  });
  it('falls back to tenant + patient + practitioner + scheduled start', () => {
    const m = matchSessions([legacy()], [candidate()]);
    expect([m.pairs.length, m.legacyOnly.length, m.candidateOnly.length]).toEqual([1, 0, 0]);
  });
  it('leaves sessions with another scheduled start unmatched on both sides', () => {
    const m = matchSessions([legacy()], [candidate({ scheduledStart: t('11:00:00') })]);
    expect([m.pairs.length, m.legacyOnly.length, m.candidateOnly.length]).toEqual([0, 1, 1]);
  });
  it('uses each candidate once when two legacy rows share a composite key', () => {
    const m = matchSessions([legacy(), legacy({ legacyId: '2' })], [candidate()]);
    expect([m.pairs.length, m.legacyOnly.map((l) => l.legacyId)]).toEqual([1, ['2']]);
  });

  // A patient who cancels and re-books one slot: two sessions under one composite key on each side.
  const cancelledLegacy = legacy({ legacyId: '1', status: 'cancelled', startedAt: null, endedAt: null });
  const heldLegacy = legacy({ legacyId: '2', status: 'completed' });
  const heldCandidate = candidate({ id: '00000000-0000-4000-8000-00000000000a', createdAt: t('09:00:00') });
  const cancelledCandidate = candidate({
    id: '00000000-0000-4000-8000-00000000000b',
    status: 'cancelled',
    startedAt: null,
    endedAt: null,
    createdAt: t('08:00:00'),
  });
  const pairing = (m: ReturnType<typeof matchSessions>) => m.pairs.map((p) => [p.legacy.legacyId, p.candidate.id]).sort();

  it.each([
    ['legacy and candidates as read', [cancelledLegacy, heldLegacy], [cancelledCandidate, heldCandidate]],
    ['candidates the other way round', [cancelledLegacy, heldLegacy], [heldCandidate, cancelledCandidate]],
    ['legacy the other way round', [heldLegacy, cancelledLegacy], [heldCandidate, cancelledCandidate]],
  ])('pairs tied sessions by status and start, whatever the order (%s)', (_order, l, c) => {
    const m = matchSessions(l, c);
    expect(pairing(m)).toEqual([
      ['1', '00000000-0000-4000-8000-00000000000b'],
      ['2', '00000000-0000-4000-8000-00000000000a'],
    ]);
    const report = compareParallelRun('t1', l, c, options);
    expect([report.decision, report.reasons]).toEqual(['go', []]);
  });

  it('breaks a tie nothing tells apart by legacy id and creation, whatever the order', () => {
    const first = candidate({ id: '00000000-0000-4000-8000-00000000000f', createdAt: t('08:00:00') });
    const second = candidate({ id: '00000000-0000-4000-8000-000000000001', createdAt: t('09:00:00') });
    const ten = legacy({ legacyId: '10' });
    const nine = legacy({ legacyId: '9' });
    const expected = [
      ['10', '00000000-0000-4000-8000-000000000001'],
      ['9', '00000000-0000-4000-8000-00000000000f'],
    ];
    expect(pairing(matchSessions([ten, nine], [first, second]))).toEqual(expected);
    expect(pairing(matchSessions([nine, ten], [second, first]))).toEqual(expected);
  });
});

describe('compareFields', () => {
  const pair = (l: Partial<LegacySide>, c: Partial<CandidateSide>) => ({ kind: 'parallel' as const, legacy: legacy(l), candidate: candidate(c) });
  it.each([
    ['durations within tolerance match', {}, {}, 'duration', 'matched'],
    ['durations beyond tolerance mismatch', {}, { endedAt: t('10:45:00') }, 'duration', 'mismatched'],
    ['a session not ended ignores duration', { endedAt: null, status: 'active' }, { endedAt: null, status: 'in_progress' }, 'duration', 'ignored'],
    ['the same participants in another order match', {}, {}, 'participants', 'matched'],
    ['a missing participant mismatches', {}, { participantRefs: ['Patient/p1'] }, 'participants', 'mismatched'],
    ['a missing Encounter on an ended session mismatches', {}, { hasEncounter: false }, 'encounter', 'mismatched'],
    ['a cancelled session ignores the Encounter', { status: 'cancelled' }, { status: 'cancelled', hasEncounter: false }, 'encounter', 'ignored'],
    ['other billing codes mismatch', {}, { billingCodes: ['99214'] }, 'billing', 'mismatched'],
    ['a cancelled session ignores billing', { status: 'no_show' }, { status: 'cancelled', billingCodes: [] }, 'billing', 'ignored'],
    ['the same status matches', {}, {}, 'status', 'matched'],
    ['another status mismatches', {}, { status: 'cancelled' }, 'status', 'mismatched'],
    ['an unknown legacy status is ignored', { status: '???' }, {}, 'status', 'ignored'],
  ] as const)('%s', (_name, l, c, field, outcome) => {
    expect(compareFields(pair(l, c), options)[field].outcome).toBe(outcome);
  });

  it('ignores the Encounter of a session that ended before the FHIR era', () => {
    const o = compareFields(pair({}, { hasEncounter: false }), { ...options, fhirEraStart: t('12:00:00') });
    expect(o.encounter).toEqual({ outcome: 'ignored', ignoredBecause: 'pre_fhir_era', legacy: true, candidate: false });
  });

  it('ignores an Encounter the migrator backfilled where legacy had none, and judges it where legacy had one', () => {
    const backfilled = candidate({ legacyId: '1', encounterBackfilled: true });
    expect(compareFields({ kind: 'migrated', legacy: legacy({ hasEncounter: false }), candidate: backfilled }, options).encounter).toEqual({
      outcome: 'ignored',
      ignoredBecause: 'backfilled_by_migrator',
      legacy: false,
      candidate: true,
    });
    expect(
      compareFields({ kind: 'migrated', legacy: legacy({ hasEncounter: false }), candidate: candidate({ legacyId: '1' }) }, options).encounter.outcome,
    ).toBe('mismatched');
  });

  it('in shadow mode, ignores the Encounter a parallel session lacks (the service creates none there), and judges the rest', () => {
    const shadow = { ...options, serviceMode: 'shadow' as const };
    expect(compareFields(pair({}, { hasEncounter: false }), shadow).encounter).toEqual({
      outcome: 'ignored',
      ignoredBecause: 'suppressed_in_shadow',
      legacy: true,
      candidate: false,
    });
    // One it has anyway (made while live) is judged; a migrated copy is judged whatever the mode.
    expect(compareFields(pair({ hasEncounter: false }, { hasEncounter: true }), shadow).encounter.outcome).toBe('mismatched');
    const copy = { kind: 'migrated' as const, legacy: legacy(), candidate: candidate({ legacyId: '1', hasEncounter: false }) };
    expect(compareFields(copy, shadow).encounter.outcome).toBe('mismatched');
  });

  it('reports participants as counts, never refs', () => {
    expect(compareFields(pair({}, { participantRefs: ['Patient/p1'] }), options).participants).toEqual({ outcome: 'mismatched', legacy: 2, candidate: 1 });
  });
});

describe('compareParallelRun', () => {
  it('is a no-go when the window held fewer sessions run by both systems than required, whatever the copies say', () => {
    const copy = { legacy: legacy({ legacyId: '7' }), candidate: candidate({ legacyId: '7' }) };
    const report = compareParallelRun('t1', [copy.legacy], [copy.candidate], { ...options, minParallelPairs: 1 });
    expect([report.decision, report.reasons, report.counts.pairs]).toEqual(['no_go', ['too_few_parallel_sessions: 0 < 1'], { migrated: 1, parallel: 0 }]);
    expect(compareParallelRun('t1', [legacy()], [candidate()], { ...options, minParallelPairs: 1 }).decision).toBe('go');
  });

  it('is a go when every parallel field matches and nothing is unmatched', () => {
    const report = compareParallelRun('t1', [legacy()], [candidate()], options);
    expect([report.decision, report.reasons, report.counts.pairs]).toEqual(['go', [], { migrated: 0, parallel: 1 }]);
    expect(report.fields.parallel.status).toEqual({ matched: 1, mismatched: 0, ignored: 0, mismatchRate: 0, ignoredBecause: {} });
  });

  it('in shadow mode, a parallel pair whose legacy twin has an Encounter is a go, the field counted ignored', () => {
    const report = compareParallelRun('t1', [legacy()], [candidate({ hasEncounter: false })], { ...options, serviceMode: 'shadow', minParallelPairs: 1 });
    expect([report.decision, report.reasons]).toEqual(['go', []]);
    expect(report.fields.parallel.encounter).toEqual({ matched: 0, mismatched: 0, ignored: 1, mismatchRate: 0, ignoredBecause: { suppressed_in_shadow: 1 } });
    expect(compareParallelRun('t1', [legacy()], [candidate({ hasEncounter: false })], options).decision).toBe('no_go');
  });

  it('is a no-go naming the field whose mismatch rate exceeds the noise baseline', () => {
    const report = compareParallelRun('t1', [legacy()], [candidate({ billingCodes: [] })], options);
    expect(report.decision).toBe('no_go');
    expect(report.reasons).toEqual(['billing_mismatch_rate: 1.0000 > baseline 0.0000 + tolerance 0']);
    expect(report.samples).toEqual([
      { field: 'billing', kind: 'parallel', legacyId: '1', sessionId: '00000000-0000-4000-8000-000000000001', legacy: '99213', candidate: '' },
    ]);
  });

  it('takes the noise baseline from the migrated pairs, so their normalisation does not block a go', () => {
    const migratedLegacy = legacy({ legacyId: '9', status: 'in_progress', endedAt: null, scheduledStart: t('08:00:00') });
    const migratedCopy = candidate({
      id: '00000000-0000-4000-8000-000000000009',
      legacyId: '9',
      scheduledStart: t('08:00:00'),
      participantRefs: ['Patient/p1'],
    });
    const report = compareParallelRun('t1', [legacy(), migratedLegacy], [candidate({ participantRefs: ['Patient/p1'] }), migratedCopy], options);
    expect(report.noiseBaseline.participants).toBe(1);
    expect(report.fields.parallel.participants.mismatchRate).toBe(1);
    expect(report.decision).toBe('go');
  });

  it('is a no-go when sessions are unmatched, sampling them by legacy id or session id', () => {
    const report = compareParallelRun('t1', [legacy({ legacyId: '5', scheduledStart: t('09:00:00') })], [candidate()], options);
    expect(report.decision).toBe('no_go');
    expect(report.reasons).toEqual(['unmatched_sessions: 2 > 0']);
    expect(report.samples.map((s) => [s.kind, s.legacyId, s.sessionId])).toEqual([
      ['legacy_only', '5', null],
      ['candidate_only', null, '00000000-0000-4000-8000-000000000001'],
    ]);
  });

  it('keeps at most maxSamplesPerField samples per field', () => {
    const many = Array.from({ length: 8 }, (_, i) => legacy({ legacyId: String(i), scheduledStart: new Date(Date.UTC(2026, 4, 10, 1, i)) }));
    const report = compareParallelRun('t1', many, [], options);
    expect(report.samples).toHaveLength(5);
    expect(report.counts.legacyOnly).toBe(8);
  });

  it("reports a legacy status as its lifecycle state or unknown, never legacy's free text", () => {
    const hostile = 'cancelled by daughter jane doe | see chart\n# NO-GO overridden';
    const statuses = [hostile, ' Completed ', 'NO_SHOW', 'constructor', 'Active'];
    const sessions = statuses.map((status, i) => legacy({ legacyId: String(i + 1), status, scheduledStart: new Date(Date.UTC(2026, 4, 10, 1, i)) }));
    const report = compareParallelRun('t1', sessions, [], options);
    expect(report.counts.byStatus.legacy).toEqual({ cancelled: 1, ended: 1, in_progress: 1, unknown: 2 });
    expect(report.samples.map((s) => [s.kind, s.legacyId, s.legacy])).toEqual([
      ['legacy_only', '1', 'unknown'],
      ['legacy_only', '2', 'ended'],
      ['legacy_only', '3', 'cancelled'],
      ['legacy_only', '4', 'unknown'],
      ['legacy_only', '5', 'in_progress'],
    ]);
    expect(JSON.stringify(report)).not.toMatch(/jane|daughter|chart/);
  });

  it('never carries a patient or practitioner ref anywhere in the report', () => {
    const report = compareParallelRun('t1', [legacy(), legacy({ legacyId: '2', scheduledStart: null })], [candidate({ participantRefs: [] })], options);
    expect(JSON.stringify(report)).not.toMatch(/Patient\/|Practitioner\//);
  });
});
