/**
 * Legacy `patient_portal.telehealth_consent` → the FHIR-style Consent that access-policy owns (docs/design.md §5):
 * granted and neither revoked nor expired at `asOf` → `active` (permit); revoked or expired → `inactive`;
 * an empty patient_ref → reject `missing_patient`. Values are compared trimmed and case-insensitively.
 */

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
export type ConsentRejectReason = 'missing_patient' | 'unknown_consent_status' | TextRejection['reason'];

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
export type ConsentMapping = { kind: 'mapped'; consent: MappedConsent } | { kind: 'rejected'; reason: ConsentRejectReason; detail?: string };

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
  const status = normaliseStatus(row.status);
  if (status === undefined) return { kind: 'rejected', reason: 'unknown_consent_status' };
  const decision = legacyConsentDecision(status, row, asOf);
  const end = consentEnd(row);
  return {
    kind: 'mapped',
    consent: {
      legacyId: row.id,
      patientRef,
      // A future grant is still an active record: it permits once its period starts.
      status: decision === 'granted' || decision === 'no_consent' ? 'active' : 'inactive',
      decision,
      ...(row.grantedAt ? { periodStart: row.grantedAt.toISOString() } : {}),
      ...(end ? { periodEnd: end.toISOString() } : {}),
      ...optionalFields(row),
    },
  };
}

function optionalFields(row: LegacyConsentRow): Pick<MappedConsent, 'method' | 'recordedBy' | 'sourceUrl'> {
  const method = optional(row.method);
  const recordedBy = optional(row.recordedBy);
  const sourceUrl = optional(row.documentUrl);
  return { ...(method ? { method } : {}), ...(recordedBy ? { recordedBy } : {}), ...(sourceUrl ? { sourceUrl } : {}) };
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
