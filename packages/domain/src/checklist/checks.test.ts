import { describe, expect, it } from 'vitest';
import {
  billingForRecentSessions,
  configMigrated,
  connectionTest,
  consentsAccessible,
  encountersForEndedSessions,
  historicalStatuses,
  MAX_SAMPLES,
  overallStatus,
  reconcileSessions,
} from './index';

describe('reconcileSessions', () => {
  it('passes when loaded + rejected + deferred equals legacy', () => {
    expect(reconcileSessions('t1', { legacy: 10, loaded: 7, rejected: 2, deferred: 1 }, [])).toEqual({
      id: 'sessions.reconciled',
      tenant: 't1',
      status: 'pass',
      expected: { legacy: 10 },
      actual: { loaded: 7, rejected: 2, deferred: 1, accounted: 10 },
      samples: [],
    });
  });

  it('fails when a legacy session is unaccounted for and names it by legacy id', () => {
    const check = reconcileSessions('t1', { legacy: 10, loaded: 7, rejected: 2, deferred: 0 }, ['42']);
    expect(check.status).toBe('fail');
    expect(check.samples).toEqual(['VirtualSession:42']);
  });

  it('fails on a malformed source record no phase rejected, naming its file:line only', () => {
    const check = reconcileSessions('t1', { legacy: 3, loaded: 2, rejected: 0, deferred: 0 }, [], ['VirtualSession.csv:9']);
    expect([check.status, check.samples, check.actual]).toEqual([
      'fail',
      ['VirtualSession.csv:9'],
      { loaded: 2, rejected: 0, deferred: 0, accounted: 2, unread: 1 },
    ]);
  });

  it('fails when more rows were loaded than legacy holds', () => {
    expect(reconcileSessions('t1', { legacy: 1, loaded: 2, rejected: 0, deferred: 0 }, []).status).toBe('fail');
  });

  it(`keeps at most ${MAX_SAMPLES} samples`, () => {
    const ids = Array.from({ length: 25 }, (_, i) => String(i));
    expect(reconcileSessions('t1', { legacy: 25, loaded: 0, rejected: 0, deferred: 0 }, ids).samples).toHaveLength(MAX_SAMPLES);
  });
});

describe('historicalStatuses', () => {
  it.each([
    ['only ended and cancelled passes', { ended: 3, cancelled: 1 }, [], 'pass'],
    ['a scheduled historical session fails', { ended: 3, scheduled: 1 }, ['9'], 'fail'],
    ['an in_progress historical session fails', { in_progress: 1 }, ['9'], 'fail'],
    ['no sessions at all passes', {}, [], 'pass'],
  ] as const)('%s', (_name, byStatus, ids, status) => {
    expect(historicalStatuses('t1', byStatus, ids).status).toBe(status);
  });
});

describe('configMigrated', () => {
  it.each([
    ['a migrated legacy config passes', { legacyConfig: true, migrated: true, rejectReason: null }, 'pass', []],
    ['a tenant without legacy config passes', { legacyConfig: false, migrated: false, rejectReason: null }, 'pass', []],
    [
      'a credential reject fails and names the config',
      { legacyConfig: true, migrated: false, rejectReason: 'credential_decrypt_failed' },
      'fail',
      ['TenantVirtualCareConfig:t1'],
    ],
  ] as const)('%s', (_name, facts, status, samples) => {
    const check = configMigrated('t1', facts);
    expect([check.status, check.samples]).toEqual([status, samples]);
  });
});

describe('connectionTest', () => {
  it('passes when the last test passed', () => {
    expect(connectionTest('t1', { ok: true, checks: [{ id: 'reachable', ok: true }] }).status).toBe('pass');
  });
  it('fails naming each failing probe check', () => {
    const check = connectionTest('t1', {
      ok: false,
      checks: [
        { id: 'reachable', ok: true },
        { id: 'config_js', ok: false },
      ],
    });
    expect([check.status, check.samples]).toEqual(['fail', ['check:config_js']]);
  });
  it('fails when the config was never tested', () => {
    const check = connectionTest('t1', null);
    expect([check.status, check.samples, check.actual]).toEqual(['fail', ['check:never_tested'], { ok: false, tested: false }]);
  });
});

describe('encountersForEndedSessions', () => {
  it.each([
    ['every ended session has an Encounter', { ended: 5, withEncounter: 5, preFhirEra: 0 }, [], 'pass'],
    ['pre-FHIR-era sessions need none', { ended: 5, withEncounter: 3, preFhirEra: 2 }, [], 'pass'],
    ['a missing Encounter fails', { ended: 5, withEncounter: 3, preFhirEra: 1 }, ['11'], 'fail'],
  ] as const)('%s', (_name, counts, ids, status) => {
    expect(encountersForEndedSessions('t1', counts, ids).status).toBe(status);
  });

  it('fails when an Encounter the migrator recorded is not found in FHIR, sampling its legacy id', () => {
    const counts = { ended: 5, withEncounter: 5, preFhirEra: 0, backfilled: 2 };
    expect(encountersForEndedSessions('t1', counts, [], { checked: 2, notFoundLegacyIds: [] }).status).toBe('pass');
    expect(encountersForEndedSessions('t1', counts, [], { checked: 2, notFoundLegacyIds: ['12'] })).toMatchObject({
      status: 'fail',
      expected: { missing: 0, notFoundInFhir: 0 },
      actual: { ended: 5, withEncounter: 5, preFhirEra: 0, missing: 0, backfilled: 2, checkedInFhir: 2, notFoundInFhir: 1 },
      samples: ['VirtualSession:12'],
    });
  });
});

describe('consentsAccessible', () => {
  const none = { notAsMapped: [], disagreeing: [] };
  it.each([
    ['all consents held as they map and every decision agrees', { importable: 4, missing: 0, differing: 0, patients: 3, disagreements: 0 }, 'pass'],
    ['a consent missing from access-policy fails', { importable: 4, missing: 1, differing: 0, patients: 3, disagreements: 0 }, 'fail'],
    ['a consent held with another status or period fails', { importable: 4, missing: 0, differing: 1, patients: 3, disagreements: 0 }, 'fail'],
    ['a disagreeing decision fails', { importable: 4, missing: 0, differing: 0, patients: 3, disagreements: 1 }, 'fail'],
  ] as const)('%s', (_name, counts, status) => {
    expect(consentsAccessible('t1', counts, none).status).toBe(status);
  });

  it('names legacy consent ids once each, the ones not held as they map first', () => {
    const check = consentsAccessible(
      't1',
      { importable: 4, missing: 1, differing: 1, patients: 3, disagreements: 2 },
      { notAsMapped: ['7', '9'], disagreeing: ['9', '3'] },
    );
    expect(check).toMatchObject({
      status: 'fail',
      expected: { consents: 4, missing: 0, differing: 0, disagreements: 0 },
      actual: { consents: 2, missing: 1, differing: 1, decisionsChecked: 3, disagreements: 2 },
      samples: ['telehealth_consent:7', 'telehealth_consent:9', 'telehealth_consent:3'],
    });
  });
});

describe('billingForRecentSessions', () => {
  it.each([
    ['every legacy-billed recent session is billed here', { billedInLegacy: 3, billedHere: 3 }, [], 'pass'],
    ['a missing billing event fails', { billedInLegacy: 3, billedHere: 2 }, ['5'], 'fail'],
  ] as const)('%s', (_name, counts, ids, status) => {
    expect(billingForRecentSessions('t1', { ...counts, sinceIso: '2026-01-01T00:00:00.000Z' }, ids).status).toBe(status);
  });

  it('a bill legacy voided that is still billed here fails, named by its billing id', () => {
    const check = billingForRecentSessions('t1', { billedInLegacy: 1, billedHere: 1, sinceIso: '2026-01-01T00:00:00.000Z' }, [], ['41']);
    expect({ status: check.status, samples: check.samples }).toEqual({ status: 'fail', samples: ['BillingEvent:41'] });
  });
});

describe('overallStatus', () => {
  const pass = reconcileSessions('t1', { legacy: 0, loaded: 0, rejected: 0, deferred: 0 }, []);
  const fail = reconcileSessions('t1', { legacy: 1, loaded: 0, rejected: 0, deferred: 0 }, []);
  it.each([
    ['all passing is pass', [pass, pass], 'pass'],
    ['one failing is fail', [pass, fail], 'fail'],
    ['nothing checked is fail', [], 'fail'],
  ] as const)('%s', (_name, checks, status) => {
    expect(overallStatus(checks)).toBe(status);
  });
});
