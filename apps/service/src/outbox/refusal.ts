import { IntegrationError } from '@vc/integrations/errors';
import type { OutboxRow } from '@vc/schema';

/**
 * Statuses of a FHIR Encounter conditional create that are the server's final word on this one request,
 * so retrying the same body can only be refused again (table and reasoning in apps/service/README.md):
 * 400 and 422, the resource is invalid (OperationOutcome `invalid`, `required`, `value`, …); 412, the
 * If-None-Exist search matched more than one Encounter (FHIR R4 conditional create), which needs a person
 * to merge them. 401, 403, 404, 405, 415 would refuse every row alike: settings or an outage, retried until
 * an operator fixes them, as are 408, 409 (a concurrent conditional create), 429 and 5xx.
 */
const FINAL_FHIR_STATUSES: ReadonlySet<number> = new Set([400, 412, 422]);

/** Why a row is refused for good (`fhir 422 (OperationOutcome: invalid)`), PHI-free; undefined when it is worth retrying. */
export function refusalOf(row: Pick<OutboxRow, 'kind'>, error: unknown): string | undefined {
  if (row.kind !== 'fhir_encounter' || !(error instanceof IntegrationError) || error.system !== 'fhir') return undefined;
  if (error.status === undefined || !FINAL_FHIR_STATUSES.has(error.status)) return undefined;
  // The detail is the issue codes only (the client's summary), never the diagnostics, which may echo PHI.
  return `fhir ${error.status}${error.detail ? ` (${error.detail})` : ''}`;
}
