import { describe, expect, it } from 'vitest';
import { r4Errors } from '../testing';
import { decideFromConsents, toFhirConsent, type FhirConsent } from './fhir-consent';
import { LEGACY_CONSENT_IDENTIFIER_SYSTEM, type TelehealthConsent } from './types';

const at = new Date('2026-03-01T12:00:00Z');

function consent(id: string, overrides: Partial<TelehealthConsent>): FhirConsent {
  const base: TelehealthConsent = { identifier: { system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: id }, patientRef: 'Patient/p-1', status: 'active' };
  return { ...toFhirConsent({ ...base, ...overrides }), id: `c-${id}` };
}

describe('decideFromConsents', () => {
  it.each([
    ['an active consent in period permits', [consent('1', { periodStart: '2026-01-01T00:00:00Z' })], { permitted: true, reason: 'granted', consentId: 'c-1' }],
    ['an active consent without a period permits', [consent('1', {})], { permitted: true, reason: 'granted', consentId: 'c-1' }],
    [
      'an inactive consent marked revoked denies as revoked',
      [consent('1', { status: 'inactive', inactiveReason: 'revoked', periodEnd: '2026-02-01T00:00:00Z' })],
      { permitted: false, reason: 'revoked', consentId: 'c-1' },
    ],
    [
      'an inactive consent marked expired denies as expired',
      [consent('1', { status: 'inactive', inactiveReason: 'expired', periodEnd: '2026-02-01T00:00:00Z' })],
      { permitted: false, reason: 'expired', consentId: 'c-1' },
    ],
    ['an inactive consent with no reason denies as revoked', [consent('1', { status: 'inactive' })], { permitted: false, reason: 'revoked', consentId: 'c-1' }],
    [
      'an active consent past its period end denies as expired',
      [consent('1', { periodStart: '2025-01-01T00:00:00Z', periodEnd: '2026-03-01T12:00:00Z' })],
      { permitted: false, reason: 'expired', consentId: 'c-1' },
    ],
    [
      'an active consent not yet started denies as no_consent',
      [consent('1', { periodStart: '2026-04-01T00:00:00Z' })],
      { permitted: false, reason: 'no_consent', consentId: 'c-1' },
    ],
    ['no consent at all denies as no_consent', [], { permitted: false, reason: 'no_consent' }],
    [
      'a newer grant wins over an older revocation',
      [
        consent('1', { status: 'inactive', inactiveReason: 'revoked', periodStart: '2025-01-01T00:00:00Z' }),
        consent('2', { periodStart: '2026-02-01T00:00:00Z' }),
      ],
      { permitted: true, reason: 'granted', consentId: 'c-2' },
    ],
    [
      'with only denials the most recent one gives the reason',
      [
        consent('1', { status: 'inactive', inactiveReason: 'expired', periodStart: '2024-01-01T00:00:00Z' }),
        consent('2', { status: 'inactive', inactiveReason: 'revoked', periodStart: '2025-06-01T00:00:00Z' }),
      ],
      { permitted: false, reason: 'revoked', consentId: 'c-2' },
    ],
  ])('%s', (_name, consents, expected) => {
    expect(decideFromConsents(consents, at)).toEqual(expected);
  });
});

describe('toFhirConsent', () => {
  it('maps a legacy grant to a telehealth patient-privacy Consent with its period and identifier', () => {
    expect(
      toFhirConsent({
        identifier: { system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: '42' },
        patientRef: 'Patient/p-1',
        status: 'active',
        periodStart: '2026-01-01T00:00:00.000Z',
        method: 'portal',
        recordedBy: 'Practitioner/7',
        inactiveReason: 'revoked',
      }),
    ).toEqual({
      resourceType: 'Consent',
      extension: [{ url: 'urn:vc:fhir:StructureDefinition:consent-method', valueString: 'portal' }],
      identifier: [{ system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: '42' }],
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'urn:vc:fhir:CodeSystem:consent-category', code: 'telehealth' }] }],
      patient: { reference: 'Patient/p-1' },
      dateTime: '2026-01-01T00:00:00.000Z',
      performer: [{ reference: 'Practitioner/7' }],
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN', display: 'opt-in' }] },
      provision: { type: 'permit', period: { start: '2026-01-01T00:00:00.000Z' } },
    });
  });

  it('records a free-text recorder as a display, not a reference', () => {
    const resource = toFhirConsent({ identifier: { system: 's', value: '1' }, patientRef: 'Patient/p-1', status: 'inactive', recordedBy: 'front desk' });
    expect(resource.performer).toEqual([{ display: 'front desk' }]);
  });

  it.each(['Practitioner/a b', 'Practitioner/a_b', `Practitioner/${'a'.repeat(65)}`])(
    'records a recorder %j whose id is no FHIR id as a display',
    (recordedBy) => {
      const resource = toFhirConsent({ identifier: { system: 's', value: '1' }, patientRef: 'Patient/p-1', status: 'inactive', recordedBy });
      expect(resource.performer).toEqual([{ display: recordedBy }]);
    },
  );
});

describe('toFhirConsent writes valid FHIR R4 (@medplum/core, R4 definitions)', () => {
  const base: TelehealthConsent = { identifier: { system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: '9' }, patientRef: 'Patient/p-1', status: 'active' };
  it.each<[string, Partial<TelehealthConsent>]>([
    ['a bare grant', {}],
    [
      'a grant with period, method, document and practitioner',
      {
        periodStart: '2026-01-01T00:00:00.000Z',
        periodEnd: '2099-01-01T00:00:00.000Z',
        method: 'verbal',
        recordedBy: 'Practitioner/pr-7',
        sourceUrl: 'https://docs.example/c/9',
      },
    ],
    ['a revocation', { status: 'inactive', inactiveReason: 'revoked', periodStart: '2025-01-01T00:00:00.000Z', periodEnd: '2026-01-01T00:00:00.000Z' }],
    ['an expiry recorded by the portal itself', { status: 'inactive', inactiveReason: 'expired', recordedBy: 'System/patient-portal' }],
    ['a free-text recorder', { recordedBy: 'front desk' }],
  ])('%s', (_name, overrides) => {
    expect(r4Errors(toFhirConsent({ ...base, ...overrides }))).toEqual([]);
  });

  it.each([['scans/consent 12.pdf'], ['file:///share/12.pdf'], ['https://docs.example/consent 12.pdf']])(
    'sends no document whose url is not an absolute http(s) URL (%s): FHIR would refuse the whole consent',
    (sourceUrl) => {
      const resource = toFhirConsent({ ...base, sourceUrl });
      expect(resource.sourceAttachment).toBeUndefined();
      expect(r4Errors(resource)).toEqual([]);
    },
  );

  it('keeps a recorder whose type R4 does not allow as performer as its display, not a reference', () => {
    expect(toFhirConsent({ ...base, recordedBy: 'System/patient-portal' }).performer).toEqual([{ display: 'System/patient-portal' }]);
  });

  it('the check itself refuses what R4 refuses: no policy (ppc-1), a System/ performer', () => {
    const { policyRule: _rule, ...withoutPolicy } = toFhirConsent(base);
    expect(r4Errors(withoutPolicy).join('\n')).toMatch(/ppc-1/);
    expect(r4Errors({ ...toFhirConsent(base), performer: [{ reference: 'System/patient-portal' }] }).join('\n')).toMatch(/Invalid reference/);
  });
});
