import { describe, expect, it } from 'vitest';
import { mapLegacySession, pickDuplicateWinner, isUuid, type LegacyVirtualSession } from './session';
import { parseLegacyDatetime } from './datetime';

const asOf = new Date('2026-01-01T00:00:00Z');

/** A seeded legacy row: a completed session in 2025; each case overrides what it is about. */
function legacyRow(overrides: Partial<LegacyVirtualSession> = {}): LegacyVirtualSession {
  return {
    id: '1001',
    tenantId: 'acme',
    externalId: null,
    patientRef: 'Patient/p-1',
    practitionerRef: 'Practitioner/d-1',
    scheduledStart: '2025-06-01 10:00:00',
    scheduledEnd: '2025-06-01 10:30:00',
    startedAt: '2025-06-01 10:01:00.250',
    endedAt: '2025-06-01 10:29:00',
    status: 'completed',
    videoBackend: 'jitsi',
    roomName: 'room-1',
    cancelReason: null,
    encounterRef: 'Encounter/e-1',
    createdAt: '2025-05-20 08:00:00',
    updatedAt: '2025-06-01 10:29:01',
    ...overrides,
  };
}

function loaded(overrides: Partial<LegacyVirtualSession>) {
  const result = mapLegacySession(legacyRow(overrides), { asOf, tenantId: 'acme' });
  if (result.kind !== 'load') throw new Error(`expected load, got ${result.kind}`);
  return result;
}

const d = (iso: string) => new Date(iso);

describe('status mapping (docs/design.md §5)', () => {
  it.each([
    ['completed', 'ended'],
    ['ended', 'ended'],
    ['finished', 'ended'],
    ['  FINISHED ', 'ended'],
  ] as const)('legacy status %j loads as ended with no cancel reason', (status, expected) => {
    const { session, warnings } = loaded({ status });
    expect({ status: session.status, cancelReason: session.cancelReason, endedAt: session.endedAt, warnings }).toEqual({
      status: expected,
      cancelReason: null,
      endedAt: d('2025-06-01T10:29:00Z'),
      warnings: [],
    });
  });

  it.each(['cancelled', 'canceled', 'no_show', 'expired', 'failed', ' No_Show '])(
    'legacy status %j loads as cancelled with the normalised status as reason when cancelReason is empty',
    (status) => {
      const { session, warnings } = loaded({ status, cancelReason: '  ' });
      expect({ status: session.status, cancelReason: session.cancelReason, warnings }).toEqual({
        status: 'cancelled',
        cancelReason: status.trim().toLowerCase(),
        warnings: [],
      });
    },
  );

  it('a cancelled session keeps its legacy cancelReason when one was given', () => {
    const { session } = loaded({ status: 'canceled', cancelReason: 'patient request' });
    expect([session.status, session.cancelReason]).toEqual(['cancelled', 'patient request']);
  });

  it.each(['scheduled', 'waiting', 'active', 'in_progress', 'ACTIVE'])(
    'an unfinished status %j that started and has endedAt loads as ended at endedAt, without warning',
    (status) => {
      const { session, warnings } = loaded({ status });
      expect({ status: session.status, endedAt: session.endedAt, endInferred: session.endInferred, warnings }).toEqual({
        status: 'ended',
        endedAt: d('2025-06-01T10:29:00Z'),
        endInferred: false,
        warnings: [],
      });
    },
  );

  it('a started session with no endedAt ends at scheduledEnd when that is not before the start (warning inferred_end)', () => {
    const { session, warnings } = loaded({ status: 'in_progress', endedAt: null });
    expect({ status: session.status, endedAt: session.endedAt, endInferred: session.endInferred, warnings }).toEqual({
      status: 'ended',
      endedAt: d('2025-06-01T10:30:00Z'),
      endInferred: true,
      warnings: ['inferred_end'],
    });
  });

  it('a started session with no endedAt and a scheduledEnd before the start ends at its start (warning inferred_end)', () => {
    const { session, warnings } = loaded({ status: 'active', endedAt: null, scheduledEnd: '2025-06-01 09:00:00' });
    expect([session.endedAt, warnings]).toEqual([d('2025-06-01T10:01:00.250Z'), ['inferred_end']]);
  });

  it('a started session with neither endedAt nor scheduledEnd ends at its start (warning inferred_end)', () => {
    const { session, warnings } = loaded({ status: 'waiting', endedAt: null, scheduledEnd: null });
    expect([session.endedAt, warnings]).toEqual([d('2025-06-01T10:01:00.250Z'), ['inferred_end']]);
  });

  it('a session that never started is cancelled with reason not_started_before_migration, whatever its cancelReason said', () => {
    const { session, warnings } = loaded({ status: 'scheduled', startedAt: null, endedAt: null, cancelReason: 'doctor ill' });
    expect({ status: session.status, cancelReason: session.cancelReason, startedAt: session.startedAt, warnings }).toEqual({
      status: 'cancelled',
      cancelReason: 'not_started_before_migration',
      startedAt: null,
      warnings: [],
    });
  });

  it('an unknown status is decided by startedAt and warned unknown_status', () => {
    const started = loaded({ status: 'paused' });
    const never = loaded({ status: 'paused', startedAt: null });
    expect([started.session.status, started.warnings, never.session.status, never.session.cancelReason, never.warnings]).toEqual([
      'ended',
      ['unknown_status'],
      'cancelled',
      'not_started_before_migration',
      ['unknown_status'],
    ]);
  });

  it('an empty status is unknown', () => {
    expect(loaded({ status: null }).warnings).toEqual(['unknown_status']);
  });

  it('endedAt earlier than startedAt ends at startedAt with warning ended_before_started and the raw endedAt kept', () => {
    const { session, warnings } = loaded({ endedAt: '2025-06-01 09:59:00' });
    expect({ endedAt: session.endedAt, warnings, raw: session.migratedFrom.endedAt }).toEqual({
      endedAt: d('2025-06-01T10:01:00.250Z'),
      warnings: ['ended_before_started'],
      raw: '2025-06-01 09:59:00',
    });
  });

  it('startedAt and endedAt carry over as they are', () => {
    const { session } = loaded({});
    expect([session.startedAt, session.endedAt]).toEqual([d('2025-06-01T10:01:00.250Z'), d('2025-06-01T10:29:00Z')]);
  });

  it('the raw legacy status is kept in migratedFrom', () => {
    expect(loaded({ status: ' Finished' }).session.migratedFrom.status).toBe(' Finished');
  });
});

describe('videoBackend mapping (plan 1.2)', () => {
  it.each([
    [null, 'jitsi', ['defaulted_video_backend']],
    ['', 'jitsi', ['defaulted_video_backend']],
    ['jitsi', 'jitsi', []],
    ['JITSI', 'jitsi', []],
    [' jitsi', 'jitsi', []],
    ['twilio', 'twilio', []],
    ['zoom', 'zoom', []],
    ['webex', 'jitsi', ['unknown_video_backend']],
  ] as const)('legacy videoBackend %j loads as %j with warnings %j', (raw, expected, warnings) => {
    const result = loaded({ videoBackend: raw });
    expect([result.session.videoBackend, result.warnings]).toEqual([expected, warnings]);
  });

  it('an unknown backend keeps its raw value in migratedFrom', () => {
    expect(loaded({ videoBackend: 'webex' }).session.migratedFrom.videoBackend).toBe('webex');
  });
});

describe('datetimes', () => {
  it.each([
    ['2025-06-01 10:00:00', d('2025-06-01T10:00:00Z')],
    ['2025-06-01 10:00:00.5', d('2025-06-01T10:00:00.500Z')],
    ['2025-06-01 10:00:00.123', d('2025-06-01T10:00:00.123Z')],
  ] as const)('%j parses as UTC', (raw, expected) => {
    expect(parseLegacyDatetime(raw)).toEqual({ kind: 'ok', value: expected });
  });

  it.each([null, '\\N', '', '0000-00-00 00:00:00', '0000-00-00'])('%j is NULL', (raw) => {
    expect(parseLegacyDatetime(raw)).toEqual({ kind: 'null' });
  });

  it.each(['yesterday', '2025-02-30 10:00:00', '2025-06-01 25:00:00', '01/06/2025'])('%j is invalid', (raw) => {
    expect(parseLegacyDatetime(raw)).toEqual({ kind: 'invalid', raw });
  });

  it('a zero-date optional datetime loads as NULL without warning', () => {
    const { session, warnings } = loaded({ scheduledEnd: '0000-00-00 00:00:00' });
    expect([session.scheduledEnd, warnings]).toEqual([null, []]);
  });

  it('an unparsable optional datetime loads as NULL with warning invalid_optional_datetime and its raw value kept', () => {
    const { session, warnings } = loaded({ scheduledEnd: '2025-13-01 00:00:00' });
    expect([session.scheduledEnd, warnings, session.migratedFrom.scheduledEnd]).toEqual([null, ['invalid_optional_datetime'], '2025-13-01 00:00:00']);
  });

  it("loads under the run's tenant, whatever the row's spelling (legacy's collation read it for that tenant)", () => {
    for (const tenantId of ['ACME', 'acme ', 'Acme'])
      expect(mapLegacySession(legacyRow({ tenantId }), { asOf, tenantId: 'acme' })).toMatchObject({ kind: 'load', session: { tenantId: 'acme' } });
  });

  it('an unparsable createdAt rejects the row as invalid_datetime', () => {
    expect(mapLegacySession(legacyRow({ createdAt: 'not a date' }), { asOf, tenantId: 'acme' })).toMatchObject({
      kind: 'reject',
      reason: 'invalid_datetime',
      field: 'createdAt',
    });
  });

  it('a NULL createdAt rejects the row as invalid_datetime', () => {
    expect(mapLegacySession(legacyRow({ createdAt: '0000-00-00 00:00:00' }), { asOf, tenantId: 'acme' })).toMatchObject({
      kind: 'reject',
      reason: 'invalid_datetime',
    });
  });
});

describe('required fields and historical vs deferred', () => {
  it.each([null, '', '   '])('patientRef %j rejects the row as missing_patient', (patientRef) => {
    expect(mapLegacySession(legacyRow({ patientRef }), { asOf, tenantId: 'acme' })).toMatchObject({
      kind: 'reject',
      reason: 'missing_patient',
      field: 'patientRef',
    });
  });

  it.each([
    'p-1',
    'Patient/p 1',
    'patient/p-1',
    'Group/g1',
    'Patient/',
    'Patient/a_b',
    `Patient/${'a'.repeat(65)}`,
    'Patient/p-1/_history/2',
    'https://ehr.example/Patient/p-1',
  ])('patientRef %j (not a FHIR reference Patient/<id>) rejects the row as invalid_reference, naming the field', (patientRef) => {
    expect(mapLegacySession(legacyRow({ patientRef }), { asOf, tenantId: 'acme' })).toEqual({
      kind: 'reject',
      reason: 'invalid_reference',
      field: 'patientRef',
      detail: 'patientRef is not a FHIR reference Patient/<id> (id: 1 to 64 of A-Z a-z 0-9 - .)',
    });
  });

  it.each(['Patient/p-1', ' Patient/P.1-x ', `Patient/${'a'.repeat(64)}`])('patientRef %j is a FHIR reference and loads (trimmed)', (patientRef) => {
    expect(mapLegacySession(legacyRow({ patientRef }), { asOf, tenantId: 'acme' })).toMatchObject({ kind: 'load', session: { patientRef: patientRef.trim() } });
  });

  it('a session scheduled at or after --as-of is deferred, not loaded', () => {
    expect(mapLegacySession(legacyRow({ scheduledStart: '2026-01-01 00:00:00' }), { asOf, tenantId: 'acme' })).toEqual({ kind: 'deferred' });
  });

  it('a session with no scheduledStart is historical by its createdAt', () => {
    expect(mapLegacySession(legacyRow({ scheduledStart: null, createdAt: '2025-12-31 23:59:59.999' }), { asOf, tenantId: 'acme' }).kind).toBe('load');
    expect(mapLegacySession(legacyRow({ scheduledStart: null, createdAt: '2026-01-02 00:00:00' }), { asOf, tenantId: 'acme' })).toEqual({ kind: 'deferred' });
  });

  it('two rows with the same legacy id: the latest updatedAt wins, a tie keeps the first seen', () => {
    const older = { updatedAt: d('2025-01-01T00:00:00Z') };
    const newer = { updatedAt: d('2025-02-01T00:00:00Z') };
    expect([pickDuplicateWinner(older, newer), pickDuplicateWinner(newer, older), pickDuplicateWinner(older, { ...older })]).toEqual([
      'later',
      'first',
      'first',
    ]);
  });

  it('a missing updatedAt falls back to createdAt', () => {
    expect(loaded({ updatedAt: null }).session.updatedAt).toEqual(d('2025-05-20T08:00:00Z'));
  });

  it('only a well-formed uuid externalId can be reused as the session id', () => {
    expect([isUuid('9b2f6c1e-2d4f-4f7a-9a51-0b8a7c6d5e4f'), isUuid('ext-17'), isUuid(null)]).toEqual([true, false, false]);
    // RFC 9562: version nibble 1-8, variant 10xx. Anything else is not a UUID the target would take as is.
    const withNibbles = (version: string, variant: string) => `9b2f6c1e-2d4f-${version}f7a-${variant}a51-0b8a7c6d5e4f`;
    expect(
      [withNibbles('0', '9'), withNibbles('9', '9'), withNibbles('4', '7'), withNibbles('4', 'c'), withNibbles('8', 'b'), withNibbles('1', '8')].map(isUuid),
    ).toEqual([false, false, false, false, true, true]);
  });

  it('empty optional text fields load as NULL', () => {
    const { session } = loaded({ practitionerRef: ' ', roomName: '', encounterRef: '\\N' });
    expect([session.practitionerRef, session.roomName, session.encounterRef]).toEqual([null, null, null]);
  });
});
