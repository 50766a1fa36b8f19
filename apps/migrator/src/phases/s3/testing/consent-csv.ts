import { LEGACY_TABLES } from '../../../legacy/tables';

/** One `telehealth_consent.csv` line of a granted consent of `tenant`, with `values` over its defaults (`\N` for the rest). */
export const consentCsvLine = (id: string, values: Record<string, string> = {}, tenant = 'acme'): string =>
  LEGACY_TABLES.telehealth_consent.columns
    .map(
      (c) =>
        ({
          id,
          tenant_id: tenant,
          patient_ref: `Patient/p-${id}`,
          status: 'granted',
          granted_at: '2025-04-29 05:59:26',
          method: 'verbal',
          recorded_by: 'Practitioner/pr-1',
          updated_at: '2025-04-29 06:59:26',
          ...values,
        })[c] ?? '\\N',
    )
    .join(',');
