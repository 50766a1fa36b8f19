import { describe, expect, it } from 'vitest';
import { consentEnd, heldAsMapped, mapConsent, patientDecision, type HeldConsent, type LegacyConsentRow } from './index';

const asOf = new Date('2026-06-01T00:00:00.000Z');
const before = new Date('2026-05-01T00:00:00.000Z');
const after = new Date('2026-07-01T00:00:00.000Z');

function row(overrides: Partial<LegacyConsentRow>): LegacyConsentRow {
  return {
    id: '7',
    tenantId: 't1',
    patientRef: 'Patient/p-1',
    status: 'granted',
    grantedAt: new Date('2026-01-01T00:00:00.000Z'),
    revokedAt: null,
    expiresAt: null,
    method: 'portal',
    recordedBy: 'Practitioner/r-1',
    documentUrl: null,
    ...overrides,
  };
}

describe('mapConsent', () => {
  it.each([
    ['granted with no end is an active permit', {}, 'active', 'granted'],
    ['granted that expires later is active', { expiresAt: after }, 'active', 'granted'],
    ['granted whose expiry has passed is inactive (expired)', { expiresAt: before }, 'inactive', 'expired'],
    ['granted whose revocation has passed is inactive (revoked)', { revokedAt: before }, 'inactive', 'revoked'],
    ['granted expiring exactly at as-of is inactive', { expiresAt: asOf }, 'inactive', 'expired'],
    ['a grant that starts after as-of is active but permits nothing yet', { grantedAt: after }, 'active', 'no_consent'],
    ['revoked is inactive', { status: 'revoked', revokedAt: before }, 'inactive', 'revoked'],
    ['expired is inactive', { status: 'expired' }, 'inactive', 'expired'],
    ['status is compared trimmed and case-insensitively', { status: '  GRANTED ' }, 'active', 'granted'],
    ['revoked in any case is inactive', { status: 'Revoked' }, 'inactive', 'revoked'],
  ] as const)('%s', (_name, overrides, status, decision) => {
    const mapped = mapConsent(row(overrides), asOf);
    expect(mapped).toMatchObject({ kind: 'mapped', consent: { legacyId: '7', status, decision } });
  });

  it.each([
    ['an empty patient_ref is rejected missing_patient', { patientRef: '  ' }, 'missing_patient'],
    ['a null patient_ref is rejected missing_patient', { patientRef: null }, 'missing_patient'],
    ['an unknown status is rejected unknown_consent_status', { status: 'pending' }, 'unknown_consent_status'],
    ['a null status is rejected unknown_consent_status', { status: null }, 'unknown_consent_status'],
  ] as const)('%s', (_name, overrides, reason) => {
    expect(mapConsent(row(overrides), asOf)).toEqual({ kind: 'rejected', reason });
  });

  it.each(['p-1', 'Patient/p 1', 'Practitioner/1', `Patient/${'a'.repeat(65)}`])(
    'a patient_ref %j that is not Patient/<id> is rejected invalid_reference',
    (patientRef) => {
      expect(mapConsent(row({ patientRef }), asOf)).toEqual({
        kind: 'rejected',
        reason: 'invalid_reference',
        detail: 'patient_ref is not a FHIR reference Patient/<id> (id: 1 to 64 of A-Z a-z 0-9 - .)',
      });
    },
  );

  it.each([
    ['revoked', { status: 'revoked', revokedAt: new Date('2025-12-01T00:00:00.000Z') }, 'revoked_at'],
    ['expiring', { expiresAt: new Date('2025-12-01T00:00:00.000Z') }, 'expires_at'],
  ] as const)('a consent %s before it was granted is rejected ended_before_granted, naming the field', (_name, overrides, field) => {
    expect(mapConsent(row(overrides), asOf)).toEqual({
      kind: 'rejected',
      reason: 'ended_before_granted',
      detail: `${field} is before granted_at (the consent would end before it starts)`,
    });
  });

  it.each([
    ['a relative path', 'scans/consent 12.pdf'],
    ['a URL with a space', 'https://docs.example/consent 12.pdf'],
    ['a file: URL', 'file:///share/consents/12.pdf'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a scheme without a host', 'https:/docs.example/1'],
  ])('a document_url that is %s is left out with warning invalid_document_url, and the consent is imported', (_name, documentUrl) => {
    const mapped = mapConsent(row({ documentUrl }), asOf);
    expect(mapped).toMatchObject({ kind: 'mapped', warnings: ['invalid_document_url'] });
    expect(mapped.kind === 'mapped' && 'sourceUrl' in mapped.consent).toBe(false);
  });

  it('carries the period, method, recorder and document url, trimmed', () => {
    const mapped = mapConsent(row({ expiresAt: after, documentUrl: ' https://docs.example/1 ' }), asOf);
    expect(mapped).toEqual({
      kind: 'mapped',
      warnings: [],
      consent: {
        legacyId: '7',
        patientRef: 'Patient/p-1',
        status: 'active',
        decision: 'granted',
        periodStart: '2026-01-01T00:00:00.000Z',
        periodEnd: '2026-07-01T00:00:00.000Z',
        method: 'portal',
        recordedBy: 'Practitioner/r-1',
        sourceUrl: 'https://docs.example/1',
      },
    });
  });
});

describe('a consent with both an expiry and a revocation ends at the earlier of the two', () => {
  const expiry = new Date('2027-01-01T00:00:00.000Z');
  const revocation = new Date('2027-06-01T00:00:00.000Z');
  const between = new Date('2027-03-01T00:00:00.000Z');

  it.each([
    ['expiring before its revocation', { expiresAt: expiry, revokedAt: revocation }, expiry],
    ['revoked before its expiry', { expiresAt: revocation, revokedAt: expiry }, expiry],
    ['revoked and expiring at one instant', { expiresAt: expiry, revokedAt: expiry }, expiry],
  ] as const)('the period of a consent %s ends at the earlier instant', (_name, overrides, end) => {
    const mapped = mapConsent(row(overrides), asOf);
    expect(mapped).toMatchObject({ kind: 'mapped', consent: { status: 'active', decision: 'granted', periodEnd: end.toISOString() } });
    expect(consentEnd(row(overrides))).toEqual(end);
  });

  it.each([
    ['before both it still permits', { expiresAt: expiry, revokedAt: revocation }, asOf, 'active', 'granted'],
    [
      'between the expiry and the later revocation it no longer permits (expired)',
      { expiresAt: expiry, revokedAt: revocation },
      between,
      'inactive',
      'expired',
    ],
    [
      'between the revocation and the later expiry it no longer permits (revoked)',
      { expiresAt: revocation, revokedAt: expiry },
      between,
      'inactive',
      'revoked',
    ],
    [
      'after both, the one that came first is the reason',
      { expiresAt: expiry, revokedAt: revocation },
      new Date('2028-01-01T00:00:00.000Z'),
      'inactive',
      'expired',
    ],
  ] as const)('%s', (_name, overrides, at, status, decision) => {
    expect(mapConsent(row(overrides), at)).toMatchObject({ kind: 'mapped', consent: { status, decision, periodEnd: expiry.toISOString() } });
  });

  it('only one of the two present ends the period there', () => {
    expect([
      consentEnd({ revokedAt: revocation, expiresAt: null }),
      consentEnd({ revokedAt: null, expiresAt: expiry }),
      consentEnd({ revokedAt: null, expiresAt: null }),
    ]).toEqual([revocation, expiry, undefined]);
  });
});

describe('heldAsMapped', () => {
  const mapped = (overrides: Partial<LegacyConsentRow>, at = asOf) => {
    const m = mapConsent(row(overrides), at);
    if (m.kind !== 'mapped') throw new Error('expected a mapped consent');
    return m.consent;
  };
  const held = (overrides: Partial<HeldConsent> = {}): HeldConsent => ({
    patientRef: 'Patient/p-1',
    status: 'active',
    periodStart: '2026-01-01T00:00:00Z',
    ...overrides,
  });

  it.each([
    ['the same consent, its instants spelled otherwise', {}, held(), true],
    ['revoked in legacy since, still active there', { status: 'revoked', revokedAt: before }, held(), false],
    [
      'revoked in legacy since, held revoked with that end',
      { status: 'revoked', revokedAt: before },
      held({ status: 'inactive', periodEnd: before.toISOString() }),
      true,
    ],
    ['an expiry legacy added since', { expiresAt: after }, held(), false],
    ['another patient', {}, held({ patientRef: 'Patient/p-2' }), false],
    ['another start', {}, held({ periodStart: '2026-01-02T00:00:00Z' }), false],
    ['an end there that legacy does not have', {}, held({ periodEnd: after.toISOString() }), false],
  ] as const)('%s → %s', (_name, overrides, stored, same) => {
    expect(heldAsMapped(mapped(overrides), stored, asOf)).toBe(same);
  });

  it('a consent imported active that expired since is held as the inactive one legacy now maps to', () => {
    // Imported at an as-of before its expiry (active, with that end); compared at an as-of after it.
    const imported = mapped({ expiresAt: after }, before);
    const stored = held({ status: imported.status, periodEnd: imported.periodEnd });
    const later = new Date('2026-08-01T00:00:00.000Z');
    expect(heldAsMapped(mapped({ expiresAt: after }, later), stored, later)).toBe(true);
  });
});

describe('patientDecision', () => {
  it.each([
    ['no rows means no_consent', [], false, 'no_consent'],
    ['any granted row permits', [{ decision: 'revoked' }, { decision: 'granted' }], true, 'granted'],
    ['without a grant the last row gives the reason', [{ decision: 'expired' }, { decision: 'revoked' }], false, 'revoked'],
  ] as const)('%s', (_name, rows, permitted, reason) => {
    expect(patientDecision(rows)).toEqual({ permitted, reason });
  });
});
