import { isDocumentUrl } from '@vc/domain/consents';
import { INACTIVE_REASON_EXTENSION_URL, METHOD_EXTENSION_URL, TELEHEALTH_CONSENT_CATEGORY, type ConsentDecision, type TelehealthConsent } from './types';

/** FHIR R4 `Consent.scope` code system (terminology.hl7.org). */
export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
/** Our code system for the consent category; search matches on the code `telehealth`. */
export const CONSENT_CATEGORY_SYSTEM = 'urn:vc:fhir:CodeSystem:consent-category';

/**
 * `Consent.policyRule` (R4 invariant ppc-1 wants a policy or a policy rule): the patient opted in to
 * telehealth (HL7 v3 ActCode OPTIN, as R4's own Consent examples record an opt-in).
 */
export const CONSENT_POLICY_RULE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN', display: 'opt-in' }] };

/** The resource types R4 allows as `Consent.performer`; any other recorder is kept as a display. */
const PERFORMER_TYPES = ['Organization', 'Patient', 'Practitioner', 'PractitionerRole', 'RelatedPerson'];

/** HAPI FHIR's storage outcome codes, which tell a conditional update that changed nothing apart. */
export const STORAGE_OUTCOME_SYSTEM = 'https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code';
export type StorageOutcome = 'SUCCESSFUL_CREATE' | 'SUCCESSFUL_UPDATE' | 'SUCCESSFUL_UPDATE_NO_CHANGE';

interface Coding {
  system?: string;
  code?: string;
}
interface Extension {
  url: string;
  valueCode?: string;
  valueString?: string;
}

/** The subset of a FHIR R4 `Consent` this protocol reads and writes. */
export interface FhirConsent {
  resourceType: 'Consent';
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string };
  extension?: Extension[];
  identifier: Array<{ system: string; value: string }>;
  status: 'active' | 'inactive';
  scope: { coding: Coding[] };
  category: Array<{ coding: Coding[] }>;
  patient: { reference: string };
  dateTime?: string;
  performer?: Array<{ reference?: string; display?: string }>;
  policyRule: { coding: Coding[] };
  sourceAttachment?: { url: string };
  provision: { type: 'permit'; period?: { start?: string; end?: string } };
}

/** Maps our consent to the FHIR Consent sent to access-policy (no id/meta: the server owns those). */
export function toFhirConsent(consent: TelehealthConsent): FhirConsent {
  const extension: Extension[] = [];
  if (consent.method) extension.push({ url: METHOD_EXTENSION_URL, valueString: consent.method });
  if (consent.status === 'inactive' && consent.inactiveReason) {
    extension.push({ url: INACTIVE_REASON_EXTENSION_URL, valueCode: consent.inactiveReason });
  }
  const period = consent.periodStart || consent.periodEnd ? { start: consent.periodStart, end: consent.periodEnd } : undefined;
  const resource: FhirConsent = {
    resourceType: 'Consent',
    ...(extension.length > 0 ? { extension } : {}),
    identifier: [{ system: consent.identifier.system, value: consent.identifier.value }],
    status: consent.status,
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: CONSENT_CATEGORY_SYSTEM, code: TELEHEALTH_CONSENT_CATEGORY }] }],
    patient: { reference: consent.patientRef },
    ...(consent.periodStart ? { dateTime: consent.periodStart } : {}),
    ...(consent.recordedBy ? { performer: [performer(consent.recordedBy)] } : {}),
    policyRule: structuredClone(CONSENT_POLICY_RULE),
    // Attachment.url must be a URL: a relative path or a non-http(s) scheme is left out, never sent for
    // access-policy to refuse the whole consent over (the S3 mapping warns `invalid_document_url` for it).
    ...(consent.sourceUrl && isDocumentUrl(consent.sourceUrl) ? { sourceAttachment: { url: consent.sourceUrl } } : {}),
    provision: { type: 'permit', ...(period ? { period: dropUndefined(period) } : {}) },
  };
  return resource;
}

/**
 * A legacy `recorded_by` is a reference when it names a type R4 allows as performer with a FHIR id
 * (`Practitioner/12`); anything else (`System/patient-portal`, `Practitioner/a b`, free text) is kept as the
 * performer's display.
 */
function performer(recordedBy: string): { reference: string } | { display: string } {
  const match = /^([A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}$/.exec(recordedBy);
  return match && PERFORMER_TYPES.includes(match[1]!) ? { reference: recordedBy } : { display: recordedBy };
}

/** True when the consent carries the telehealth category code. */
export function isTelehealth(resource: FhirConsent): boolean {
  return resource.category.some((c) => c.coding.some((coding) => coding.code === TELEHEALTH_CONSENT_CATEGORY));
}

/**
 * The access-policy decision for one patient at `at` over their telehealth consents: permit when any is
 * active and in period; otherwise deny with the reason of the most recent one (`no_consent` when none).
 */
export function decideFromConsents(consents: readonly FhirConsent[], at: Date): ConsentDecision {
  const time = at.getTime();
  const inPeriod = (c: FhirConsent) => {
    const { start, end } = c.provision.period ?? {};
    return (!start || Date.parse(start) <= time) && (!end || time < Date.parse(end));
  };
  const permitting = consents.find((c) => c.status === 'active' && inPeriod(c));
  if (permitting) return { permitted: true, reason: 'granted', consentId: permitting.id };
  const latest = [...consents].sort((a, b) => startOf(b) - startOf(a))[0];
  if (!latest) return { permitted: false, reason: 'no_consent' };
  return { permitted: false, reason: denyReason(latest, time), consentId: latest.id };
}

function denyReason(consent: FhirConsent, time: number): ConsentDecision['reason'] {
  const end = consent.provision.period?.end;
  if (consent.status === 'active') return end && Date.parse(end) <= time ? 'expired' : 'no_consent';
  const recorded = consent.extension?.find((e) => e.url === INACTIVE_REASON_EXTENSION_URL)?.valueCode;
  return recorded === 'expired' ? 'expired' : 'revoked';
}

function startOf(consent: FhirConsent): number {
  const start = consent.provision.period?.start ?? consent.dateTime;
  return start ? Date.parse(start) : Number.NEGATIVE_INFINITY;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
