import { encountersForEndedSessions, type CheckResult } from '@vc/domain/checklist';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import pLimit from 'p-limit';
import type { FhirClient } from '../engine/ports';

/**
 * How many of the migrator's own Encounters validation looks up in FHIR per tenant. A sample, not all:
 * one GET each, and what it guards against (an EHR that lost or never kept what it acknowledged) shows
 * up in any sample.
 */
export const FHIR_SAMPLE = 25;

/**
 * Plan §5 "FHIR Encounters exist for all migrated ended sessions (or confirmed pre-FHIR era)". With a
 * FHIR client, the Encounters the migrator created (S2 2.4, S4 4.1) are also looked up there by their
 * session identifier, a sample of {@link FHIR_SAMPLE}: a recorded ref FHIR cannot find fails the check.
 */
export async function checkEncounters(db: Database, tenantId: string, fhir?: () => Promise<FhirClient>): Promise<CheckResult> {
  const [counts] = await queryRows<{ ended: string | number; with_encounter: string | number; pre_fhir: string | number; backfilled: string | number }>(
    db,
    sql`select count(*) as ended,
          count(*) filter (where s.encounter_ref is not null) as with_encounter,
          count(*) filter (where s.encounter_ref is null and c.fhir_era_start is not null and s.ended_at < c.fhir_era_start) as pre_fhir,
          (select count(*) from vc_migration.encounter_backfills b where b.tenant_id = ${tenantId}) as backfilled
        from virtual_sessions s left join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
        where s.tenant_id = ${tenantId} and s.legacy_id is not null and s.status = 'ended'`,
  );
  const missing = await queryRows<{ legacy_id: string }>(
    db,
    sql`select s.legacy_id from virtual_sessions s left join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
        where s.tenant_id = ${tenantId} and s.legacy_id is not null and s.status = 'ended' and s.encounter_ref is null
          and not (c.fhir_era_start is not null and s.ended_at < c.fhir_era_start)
        order by s.legacy_id limit 10`,
  );
  return encountersForEndedSessions(
    tenantId,
    { ended: Number(counts?.ended ?? 0), withEncounter: Number(counts?.with_encounter ?? 0), preFhirEra: Number(counts?.pre_fhir ?? 0), backfilled: Number(counts?.backfilled ?? 0) },
    missing.map((r) => r.legacy_id),
    fhir ? await lookUpBackfilled(db, tenantId, await fhir()) : undefined,
  );
}

async function lookUpBackfilled(db: Database, tenantId: string, fhir: FhirClient): Promise<{ checked: number; notFoundLegacyIds: string[] }> {
  const { SESSION_IDENTIFIER_SYSTEM } = await import('@vc/integrations/fhir');
  const sample = await queryRows<{ session_id: string; legacy_id: string; encounter_ref: string }>(
    db,
    sql`select session_id, legacy_id, encounter_ref from vc_migration.encounter_backfills where tenant_id = ${tenantId} order by session_id limit ${FHIR_SAMPLE}`,
  );
  const limit = pLimit(4);
  const found = await Promise.all(
    sample.map((b) =>
      limit(async () => {
        const encounter = await fhir.findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: b.session_id });
        return encounter?.id !== undefined && `Encounter/${encounter.id}` === b.encounter_ref;
      }),
    ),
  );
  return { checked: sample.length, notFoundLegacyIds: sample.filter((_, i) => !found[i]).map((b) => b.legacy_id) };
}
