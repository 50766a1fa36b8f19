import { mapConsent, type ConsentMapping, type LegacyConsentRow } from '@vc/domain/consents';
import { parseLegacyDatetime } from '@vc/domain/legacy';
import type { LegacyRow } from '../../legacy/types';

export interface ReadConsent {
  legacyId: string;
  mapping: ConsentMapping;
  /**
   * `invalid_optional_datetime` when a date was unparsable and read as NULL (docs/design.md §5, datetimes);
   * `invalid_document_url` when document_url was no absolute http(s) URL and was left out.
   */
  warnings: string[];
}

/** A `telehealth_consent` row (snake_case, as patient_portal has it) mapped at `asOf`. */
export function readConsent(row: LegacyRow, tenantId: string, asOf: Date): ReadConsent {
  const warnings = new Set<string>();
  const date = (raw: string | null | undefined): Date | null => {
    const parsed = parseLegacyDatetime(raw);
    if (parsed.kind === 'invalid') warnings.add('invalid_optional_datetime');
    return parsed.kind === 'ok' ? parsed.value : null;
  };
  const legacy: LegacyConsentRow = {
    id: (row.id ?? '').trim(),
    tenantId,
    patientRef: row.patient_ref ?? null,
    status: row.status ?? null,
    grantedAt: date(row.granted_at),
    revokedAt: date(row.revoked_at),
    expiresAt: date(row.expires_at),
    method: row.method ?? null,
    recordedBy: row.recorded_by ?? null,
    documentUrl: row.document_url ?? null,
  };
  const mapping = mapConsent(legacy, asOf);
  if (mapping.kind === 'mapped') for (const w of mapping.warnings) warnings.add(w);
  return { legacyId: legacy.id, mapping, warnings: [...warnings] };
}

/** Warning counts of a batch, one per row and code. */
export function tally(consents: readonly ReadConsent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of consents) for (const w of c.warnings) out[w] = (out[w] ?? 0) + 1;
  return out;
}

export const consentLegacyKey = (legacyId: string) => `telehealth_consent:${legacyId}`;
