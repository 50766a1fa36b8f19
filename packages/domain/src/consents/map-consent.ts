/**
 * Legacy `patient_portal.telehealth_consent` → the FHIR-style Consent that access-policy owns (docs/design.md §5):
 * granted and neither revoked nor expired at `asOf` → `active` (permit); revoked or expired → `inactive`;
 * an empty patient_ref → reject `missing_patient`, one that is not `Patient/<id>` → reject `invalid_reference`. Values are compared trimmed and case-insensitively.
 */

import { isPatientReference, notPatientReference } from '../legacy/references';
import { checkTexts, type TextRejection } from '../legacy/text-guard';

/** A legacy consent row as read (MySQL or CSV); datetimes already parsed, `null` when absent. */
export interface LegacyConsentRow {
  id: string;
  tenantId: string;
  patientRef: string | null;
  status: string | null;
  grantedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date | null;
  method: string | null;
  recordedBy: string | null;
  documentUrl: string | null;
}

/** Why a consent row cannot be imported. */
export type ConsentRejectReason = 'missing_patient' | 'invalid_reference' | 'unknown_consent_status' | 'ended_before_granted' | TextRejection['reason'];
/** What was left out of a consent imported anyway. */
export type ConsentWarning = 'invalid_document_url';

/** Why a patient is (not) permitted, in access-policy's words. */
export type ConsentDecisionReason = 'granted' | 'revoked' | 'expired' | 'no_consent';

/** The record to upsert into access-policy, keyed by the legacy identifier so re-imports converge. */
export interface MappedConsent {
  legacyId: string;
  patientRef: string;
  status: 'active' | 'inactive';
  /** What legacy would answer for this row at `asOf`. */
  decision: ConsentDecisionReason;
  periodStart?: string;
  periodEnd?: string;
  method?: string;
  recordedBy?: string;
  sourceUrl?: string;
}

/** `detail` names the field when the reason alone does not (a text the target cannot hold). */
export type ConsentMapping =
  { kind: 'mapped'; consent: MappedConsent; warnings: ConsentWarning[] } | { kind: 'rejected'; reason: ConsentRejectReason; detail?: string };

/** The consent texts written to access-policy (patient_ref is its lookup key). */
const WRITTEN_TEXTS = { id: 'indexed', patientRef: 'indexed', method: 'text', recordedBy: 'text', documentUrl: 'text' } as const;

const LEGACY_STATUSES = ['granted', 'revoked', 'expired'] as const;
type LegacyConsentStatus = (typeof LEGACY_STATUSES)[number];

function normaliseStatus(raw: string | null): LegacyConsentStatus | undefined {
  const value = (raw ?? '').trim().toLowerCase();
  return (LEGACY_STATUSES as readonly string[]).includes(value) ? (value as LegacyConsentStatus) : undefined;
}

function optional(value: string | null): string | undefined {
  const trimmed = (value ?? '').trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The legacy portal's own answer for one row at `asOf`. */
export function legacyConsentDecision(
  status: LegacyConsentStatus,
  row: Pick<LegacyConsentRow, 'grantedAt' | 'revokedAt' | 'expiresAt'>,
  asOf: Date,
): ConsentDecisionReason {
  if (status === 'revoked') return 'revoked';
  if (status === 'expired') return 'expired';
  // A grant that takes effect after as-of permits nothing yet (access-policy checks the period start too).
  if (row.grantedAt !== null && row.grantedAt.getTime() > asOf.getTime()) return 'no_consent';
  // A "granted" row whose revocation or expiry has already passed no longer permits: the portal
  // checked the dates at request time, not only the status column.
  // When both have passed, the one that came first ended the consent (a tie reads as revoked).
  const end = consentEnd(row);
  if (end !== undefined && end.getTime() <= asOf.getTime()) return end === row.revokedAt ? 'revoked' : 'expired';
  return 'granted';
}

/**
 * When a consent stops permitting: the earlier of its revocation and its expiry, whichever are present. A
 * consent that expires before it is revoked must not keep permitting until the revocation (nor the reverse).
 */
export function consentEnd(row: Pick<LegacyConsentRow, 'revokedAt' | 'expiresAt'>): Date | undefined {
  const { revokedAt, expiresAt } = row;
  if (revokedAt === null) return expiresAt ?? undefined;
  return expiresAt !== null && expiresAt.getTime() < revokedAt.getTime() ? expiresAt : revokedAt;
}

/** Maps one legacy consent row (docs/design.md §5, consents). */
export function mapConsent(row: LegacyConsentRow, asOf: Date): ConsentMapping {
  const patientRef = optional(row.patientRef);
  if (patientRef === undefined) return { kind: 'rejected', reason: 'missing_patient' };
  const unwritable = checkTexts(row, WRITTEN_TEXTS);
  if (unwritable) return { kind: 'rejected', reason: unwritable.reason, detail: unwritable.detail };
  if (!isPatientReference(patientRef)) return { kind: 'rejected', reason: 'invalid_reference', detail: notPatientReference('patient_ref') };
  const status = normaliseStatus(row.status);
  if (status === undefined) return { kind: 'rejected', reason: 'unknown_consent_status' };
  const end = consentEnd(row);
  // The provision period would end before it starts (legacy clocks), which FHIR refuses (per-1); neither
  // bound can be dropped without changing what the consent permits, so the row goes to the rejects.
  if (end && row.grantedAt && end < row.grantedAt) {
    const field = end === row.revokedAt ? 'revoked_at' : 'expires_at';
    return { kind: 'rejected', reason: 'ended_before_granted', detail: `${field} is before granted_at (the consent would end before it starts)` };
  }
  const decision = legacyConsentDecision(status, row, asOf);
  const document = documentUrl(row.documentUrl);
  return {
    kind: 'mapped',
    warnings: document.warning ? [document.warning] : [],
    consent: {
      legacyId: row.id,
      patientRef,
      // A future grant is still an active record: it permits once its period starts.
      status: decision === 'granted' || decision === 'no_consent' ? 'active' : 'inactive',
      decision,
      ...(row.grantedAt ? { periodStart: row.grantedAt.toISOString() } : {}),
      ...(end ? { periodEnd: end.toISOString() } : {}),
      ...optionalFields(row),
      ...(document.url ? { sourceUrl: document.url } : {}),
    },
  };
}

function optionalFields(row: LegacyConsentRow): Pick<MappedConsent, 'method' | 'recordedBy'> {
  const method = optional(row.method);
  const recordedBy = optional(row.recordedBy);
  return { ...(method ? { method } : {}), ...(recordedBy ? { recordedBy } : {}) };
}

/**
 * Whether `value` can be a consent's `Consent.sourceAttachment.url`: an absolute http(s) URL, whose
 * text is the URL as written (no spaces or other characters the URL parser would have to escape). A
 * relative path (`scans/consent 12.pdf`, a file on some legacy share) points nowhere an EHR can follow,
 * and FHIR refuses it; other schemes (`file:`, `javascript:`) are nothing a reader should open.
 */
export function isDocumentUrl(value: string): boolean {
  if (!/^https?:\/\/\S+$/i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The legacy document_url, when it is a usable URL. Otherwise the consent is imported without it (the
 * document is evidence of the consent, not the consent: the patient's decision stands) and warned
 * `invalid_document_url`, so the operator finds the row; the URL itself is only in the legacy row.
 */
function documentUrl(raw: string | null): { url?: string; warning?: ConsentWarning } {
  const url = optional(raw);
  if (url === undefined) return {};
  return isDocumentUrl(url) ? { url } : { warning: 'invalid_document_url' };
}

/** A Consent as access-policy holds it, as far as a decision depends on it. */
export interface HeldConsent {
  patientRef: string;
  status: string;
  periodStart?: string;
  periodEnd?: string;
}

/**
 * Whether access-policy holds a consent as its legacy row maps to at `asOf`: the same patient, the same period
 * (instants compared, not spellings), and the same status — where an `active` consent whose period ended by `asOf`
 * counts as inactive: it was imported at an earlier as-of, while still running, and permits exactly as the inactive one.
 */
export function heldAsMapped(expected: MappedConsent, held: HeldConsent, asOf: Date): boolean {
  const closed = (c: { status: string; periodEnd?: string }) =>
    c.status !== 'active' || (c.periodEnd !== undefined && Date.parse(c.periodEnd) <= asOf.getTime());
  return (
    held.patientRef === expected.patientRef &&
    sameInstant(held.periodStart, expected.periodStart) &&
    sameInstant(held.periodEnd, expected.periodEnd) &&
    closed(held) === closed(expected)
  );
}

function sameInstant(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined ? a === b : Date.parse(a) === Date.parse(b);
}

/**
 * One patient's overall legacy decision from all their mapped rows: permitted when any row grants;
 * otherwise the reason of the most recent row (by legacy id order as given, last wins), or `no_consent`.
 */
export function patientDecision(consents: readonly Pick<MappedConsent, 'decision'>[]): { permitted: boolean; reason: ConsentDecisionReason } {
  if (consents.some((c) => c.decision === 'granted')) return { permitted: true, reason: 'granted' };
  const last = consents.at(-1);
  return { permitted: false, reason: last ? last.decision : 'no_consent' };
}
