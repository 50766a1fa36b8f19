import { parseLegacyDatetime } from '@vc/domain/legacy';
import { VIRTUAL_ENCOUNTER_CLASS } from '@vc/domain/encounter';
import pLimit from 'p-limit';
import type { LegacySource } from '../legacy/types';

/**
 * For tests and `pnpm demo`: fills a FHIR stand-in with what the real EHR holds before any migration,
 * the Encounters legacy itself created for its sessions (each legacy `encounterRef`, `Encounter/<id>`),
 * so that validation's look-up of those refs finds them as it would in production. Written with FHIR
 * update-as-create (`PUT /Encounter/<id>`). Returns how many were written.
 */
export async function seedLegacyEncounters(fhirBaseUrl: string, legacy: LegacySource, tenants: readonly string[]): Promise<number> {
  const limit = pLimit(8);
  const writes: Array<Promise<void>> = [];
  for (const tenantId of tenants) {
    for await (const batch of legacy.read('VirtualSession', { tenantId, batchSize: 1000 })) {
      for (const row of batch.rows) {
        const id = /^Encounter\/([A-Za-z0-9\-.]{1,64})$/.exec((row.encounterRef ?? '').trim())?.[1];
        const patient = (row.patientRef ?? '').trim();
        if (!id || !patient) continue;
        writes.push(limit(() => put(fhirBaseUrl, id, patient, row.startedAt ?? null, row.endedAt ?? null)));
      }
    }
  }
  await Promise.all(writes);
  return writes.length;
}

async function put(base: string, id: string, patientRef: string, startedAt: string | null, endedAt: string | null): Promise<void> {
  const iso = (text: string | null) => {
    const parsed = parseLegacyDatetime(text);
    return parsed.kind === 'ok' ? parsed.value.toISOString() : undefined;
  };
  const [start, end] = [iso(startedAt), iso(endedAt)];
  const encounter = {
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { ...VIRTUAL_ENCOUNTER_CLASS },
    subject: { reference: patientRef },
    ...(start || end ? { period: { ...(start ? { start } : {}), ...(end && (!start || end >= start) ? { end } : {}) } } : {}),
  };
  const res = await fetch(`${base}/Encounter/${id}`, { method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(encounter) });
  // Never the body: it may echo the patient reference.
  if (!res.ok) throw new Error(`seeding legacy Encounter ${id} answered ${res.status}`);
}
