/**
 * The platform access-policy service owns consent records. We speak FHIR-style `Consent` to it
 * (scope `patient-privacy`, category telehealth), keyed by an identifier we control so imports are idempotent.
 */
export const TELEHEALTH_CONSENT_CATEGORY = 'telehealth';
export const LEGACY_CONSENT_IDENTIFIER_SYSTEM = 'urn:legacy:patient_portal:telehealth_consent';

/** Extension on Consent carrying {@link TelehealthConsent.inactiveReason} (R4 Consent has no status reason). */
export const INACTIVE_REASON_EXTENSION_URL = 'urn:vc:fhir:StructureDefinition:consent-inactive-reason';
/** Extension on Consent carrying the legacy capture method (`portal`, `verbal`, …). */
export const METHOD_EXTENSION_URL = 'urn:vc:fhir:StructureDefinition:consent-method';

export interface TelehealthConsent {
  /** Stable identifier, e.g. `{ system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: '<legacy id>' }`. */
  identifier: { system: string; value: string };
  patientRef: string;
  /** FHIR Consent.status: `active` (permit) or `inactive` (revoked / expired). */
  status: 'active' | 'inactive';
  /**
   * Why an inactive consent is inactive (legacy `revoked` / `expired`), so decisions can say which.
   * Carried as the extension {@link INACTIVE_REASON_EXTENSION_URL}. Ignored on active consents.
   */
  inactiveReason?: 'revoked' | 'expired';
  /** The provision period: start = granted_at, end = the earlier of revoked_at and expires_at. ISO strings. */
  periodStart?: string;
  periodEnd?: string;
  method?: string;
  recordedBy?: string;
  sourceUrl?: string;
}

export interface ConsentDecision {
  /** True when the patient holds an active, in-period telehealth consent. */
  permitted: boolean;
  /** Why, for a 403 problem: `granted`, `revoked`, `expired`, `no_consent`. Never PHI. */
  reason: 'granted' | 'revoked' | 'expired' | 'no_consent';
  consentId?: string;
}

/** A Consent as access-policy holds it, read back by its identifier (`validate` compares it with legacy's). */
export interface StoredConsent {
  /** The identifier it was found by. */
  identifier: { system: string; value: string };
  patientRef: string;
  /** FHIR Consent.status as stored: only `active` can permit. */
  status: string;
  periodStart?: string;
  periodEnd?: string;
}

export interface AccessPolicyClient {
  /** Upsert keyed by identifier (conditional update): re-importing changes nothing. */
  upsertConsent(tenantId: string, consent: TelehealthConsent): Promise<{ id: string; created: boolean; changed: boolean }>;
  decideTelehealth(tenantId: string, patientRef: string, at?: Date): Promise<ConsentDecision>;
  countConsents(tenantId: string): Promise<number>;
  /**
   * The tenant's telehealth Consents holding any of these identifiers, searched a few dozen identifiers per request
   * (a FHIR token search OR-list), so a whole tenant is compared in one round trip per batch, not per consent.
   */
  findConsents(tenantId: string, identifiers: ReadonlyArray<{ system: string; value: string }>): Promise<StoredConsent[]>;
}
