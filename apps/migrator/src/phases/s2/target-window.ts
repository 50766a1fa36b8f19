import type { CandidateSide, ComparableStatus } from '@vc/domain/parallel-run';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

interface Row {
  id: string;
  legacy_id: string | null;
  tenant_id: string;
  patient_ref: string;
  practitioner_ref: string | null;
  scheduled_start: Date | string | null;
  status: ComparableStatus;
  started_at: Date | string | null;
  ended_at: Date | string | null;
  encounter_ref: string | null;
  encounter_backfilled: boolean;
  participants: string[] | null;
  billing: string[] | null;
  created_at: Date | string;
}

const toDate = (v: Date | string | null) => (v === null ? null : new Date(v));

/**
 * The new side of the parallel run: the tenant's sessions whose `coalesce(scheduled_start, created_at)`
 * falls in the window, plus the migrated copies of the legacy sessions in it (whatever their created_at),
 * each with its participants and non-void billing codes, in the order they were created (a tie between two
 * sessions of one slot is then broken the same way on every run).
 */
export async function readCandidateWindow(
  db: Database,
  tenantId: string,
  window: { from: Date; to: Date },
  legacyIds: readonly string[],
): Promise<CandidateSide[]> {
  const rows = await queryRows<Row>(
    db,
    sql`select s.id, s.legacy_id, s.tenant_id, s.patient_ref, s.practitioner_ref, s.scheduled_start, s.status, s.started_at, s.ended_at, s.encounter_ref, s.created_at,
          exists (select 1 from vc_migration.encounter_backfills e where e.session_id = s.id) as encounter_backfilled,
          array(select p.participant_ref from session_participants p where p.session_id = s.id) as participants,
          array(select b.code from billing_events b where b.session_id = s.id and b.status <> 'void') as billing
        from virtual_sessions s
        where s.tenant_id = ${tenantId}
          and ((coalesce(s.scheduled_start, s.created_at) >= ${window.from.toISOString()}::timestamptz
                and coalesce(s.scheduled_start, s.created_at) < ${window.to.toISOString()}::timestamptz)
               or s.legacy_id in (select jsonb_array_elements_text(${JSON.stringify(legacyIds)}::jsonb)))
        order by s.created_at, s.id`,
  ).catch((error: unknown) => {
    throw new Error(`reading the new sessions of tenant ${tenantId} in the window failed`, { cause: error });
  });
  return rows.map((r) => ({
    id: r.id,
    legacyId: r.legacy_id,
    tenantId: r.tenant_id,
    patientRef: r.patient_ref,
    practitionerRef: r.practitioner_ref,
    scheduledStart: toDate(r.scheduled_start),
    status: r.status,
    startedAt: toDate(r.started_at),
    endedAt: toDate(r.ended_at),
    participantRefs: r.participants ?? [],
    hasEncounter: r.encounter_ref !== null,
    encounterBackfilled: r.encounter_backfilled,
    billingCodes: r.billing ?? [],
    createdAt: new Date(r.created_at),
  }));
}
