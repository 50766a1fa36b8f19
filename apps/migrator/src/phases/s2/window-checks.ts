import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

/** What 2.4 found for the sessions that ended in the window. Legacy ids or session ids only. */
export interface WindowChecks {
  ended: number;
  encounters: { ok: number; preFhirEra: number; suppressedInShadow: number; missing: string[] };
  /** `notStarted`: native sessions ended before anyone started them, which bill nothing (buildBillingEvent). */
  billing: { ok: number; notStarted: number; missing: string[] };
  audit: { ok: number; missing: string[] };
}

interface Row {
  id: string;
  legacy_id: string | null;
  has_encounter: boolean;
  pre_fhir: boolean;
  billed: boolean;
  started: boolean;
  audited: boolean;
}

/**
 * Plan 2.4 over the sessions that ended in the window. Encounter: present (`encounter_ref` or a pending
 * FHIR outbox request; one FHIR refused for good and the relay parked is missing), unless the session ended before the tenant's FHIR era or is a native one while
 * the service runs in shadow mode (which suppresses Encounters by design). Billing: a native session that
 * started has its billing event; one ended before anyone started it delivered no service and bills nothing
 * (the service's billing rule), so it is counted `notStarted`, not a gap.
 * Audit trail: a native session has audit events. Billing and audit of migrated sessions are legacy's
 * own history (carried over, or backfilled in 1.4), so only the new service's sessions are judged on them.
 */
export async function checkEndedInWindow(db: Database, tenantId: string, window: { from: Date; to: Date }, mode: 'live' | 'shadow'): Promise<WindowChecks> {
  const rows = await queryRows<Row>(
    db,
    sql`select s.id, s.legacy_id,
          (s.encounter_ref is not null or exists (select 1 from outbox o where o.kind = 'fhir_encounter' and o.aggregate_id = s.id and o.refused_at is null)) as has_encounter,
          (c.fhir_era_start is not null and s.ended_at < c.fhir_era_start) as pre_fhir,
          exists (select 1 from billing_events b where b.session_id = s.id) as billed,
          s.started_at is not null as started,
          exists (select 1 from session_audit_events a where a.session_id = s.id) as audited
        from virtual_sessions s
        left join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
        where s.tenant_id = ${tenantId} and s.status = 'ended'
          and s.ended_at >= ${window.from.toISOString()}::timestamptz and s.ended_at < ${window.to.toISOString()}::timestamptz
        order by s.id`,
  );
  const out: WindowChecks = {
    ended: rows.length,
    encounters: { ok: 0, preFhirEra: 0, suppressedInShadow: 0, missing: [] },
    billing: { ok: 0, notStarted: 0, missing: [] },
    audit: { ok: 0, missing: [] },
  };
  for (const r of rows) {
    const label = r.legacy_id === null ? `session:${r.id}` : `VirtualSession:${r.legacy_id}`;
    if (r.has_encounter) out.encounters.ok += 1;
    else if (r.pre_fhir) out.encounters.preFhirEra += 1;
    else if (r.legacy_id === null && mode === 'shadow') out.encounters.suppressedInShadow += 1;
    else out.encounters.missing.push(label);
    if (r.billed || r.legacy_id !== null) out.billing.ok += 1;
    else if (!r.started) out.billing.notStarted += 1;
    else out.billing.missing.push(label);
    if (r.audited || r.legacy_id !== null) out.audit.ok += 1;
    else out.audit.missing.push(label);
  }
  return out;
}
