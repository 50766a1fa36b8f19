/**
 * Why a legacy row was not loaded (docs/design.md §5). Every rejected row is kept in `vc_migration.rejects`
 * with one of these and its raw row; a row is never dropped silently.
 */
export const REJECT_REASONS = [
  'invalid_datetime',
  'missing_patient',
  /** A patient reference that is not `Patient/<id>` (FHIR id: 1 to 64 of A-Z a-z 0-9 - .): no EHR takes it as subject or patient. */
  'invalid_reference',
  'duplicate_legacy_id',
  'orphan_event',
  'missing_actor',
  'left_without_join',
  'credential_decrypt_failed',
  /** A text longer than its target column allows (see text-guard.ts for the limits). */
  'field_too_long',
  /** A text PostgreSQL cannot store: a NUL byte or an unpaired surrogate. */
  'invalid_text',
  /** Another legacy row with a different id already holds this externalId, which is the session's new id. */
  'duplicate_external_id',
  /** S4: a legacy row two or more of the service's shadow-mode sessions fit (or whose slot's one another legacy row took): which one it is, is not guessed. */
  'ambiguous_shadow_session',
  /** A CSV record with more or fewer fields than the header, or a quoted field never closed: no field of it is trusted. */
  'malformed_record',
  /** A CSV record holding bytes that are not UTF-8. */
  'invalid_encoding',
  /** S3: a legacy consent whose status is none of patient_portal's. */
  'unknown_consent_status',
  /** S3: a legacy consent revoked or expiring before it was granted (legacy clocks): its period would end before it starts. */
  'ended_before_granted',
  /** S3: access-policy (FHIR) refused the mapped Consent with a 4xx; the rest of the batch goes on. */
  'consent_refused',
  /** S2 2.4 / S4 4.1: the EHR refused the Encounter legacy never made for an ended session, with a 4xx. */
  'encounter_refused',
  /**
   * S2 2.4 / S4 4.1: a legacy bill whose value no claim can carry, named in the detail: `units` not a whole number
   * from 1 to 2147483647 (0, negative, fractional, out of range), or no `placeOfService`. Carried as legacy billed
   * it or not at all: a billing value is never made up.
   */
  'invalid_value',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** What was normalised on a row that was loaded anyway (docs/design.md §5); counted per source row and code. */
export const WARNING_CODES = [
  'unknown_status',
  'inferred_end',
  'ended_before_started',
  'defaulted_video_backend',
  'unknown_video_backend',
  'invalid_optional_datetime',
  'malformed_payload',
  'malformed_branding',
  /** S4: a session S2 made an Encounter for now carries legacy's own encounterRef (the backfilled one stays, superseded). */
  'backfilled_encounter_superseded',
  /** S3: a consent's document_url that is no absolute http(s) URL, left out of the Consent (it is imported without it). */
  'invalid_document_url',
  /**
   * S1 1.3 re-run: the tenant's config is the service's (a `PUT /config` wrote it since 1.3 did, or created it where
   * 1.3 wrote none): kept as it is, legacy's not written over it.
   */
  'config_changed_by_service',
  /**
   * S1 1.1 re-run, or S4's delta sync meeting a legacy change: a session the service wrote since the migrator did (its
   * version moved past the one the migrator recorded, e.g. after the cutover): kept as it is, legacy's not written over it.
   */
  'session_changed_by_service',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

/** Tallies codes, one per source row: a row warned twice for the same code counts once. */
export function tallyCodes<C extends string>(perRow: ReadonlyArray<readonly C[]>): Partial<Record<C, number>> {
  const counts: Partial<Record<C, number>> = {};
  for (const codes of perRow) {
    // Most rows carry no code or one: no Set for those (this runs once per legacy row).
    if (codes.length === 0) continue;
    if (codes.length === 1) counts[codes[0]!] = (counts[codes[0]!] ?? 0) + 1;
    else for (const code of new Set(codes)) counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}
