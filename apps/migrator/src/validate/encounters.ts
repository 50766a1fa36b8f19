import { encountersForEndedSessions, type CheckResult } from '@vc/domain/checklist';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

/** Plan §5 "FHIR Encounters exist for all migrated ended sessions (or confirmed pre-FHIR era)". */
export async function checkEncounters(db: Database, tenantId: string): Promise<CheckResult> {
  const [counts] = await queryRows<{ ended: string | number; with_encounter: string | number; pre_fhir: string | number }>(
    db,
    sql`select count(*) as ended,
          count(*) filter (where s.encounter_ref is not null) as with_encounter,
          count(*) filter (where s.encounter_ref is null and c.fhir_era_start is not null and s.ended_at < c.fhir_era_start) as pre_fhir
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
    { ended: Number(counts?.ended ?? 0), withEncounter: Number(counts?.with_encounter ?? 0), preFhirEra: Number(counts?.pre_fhir ?? 0) },
    missing.map((r) => r.legacy_id),
  );
}
