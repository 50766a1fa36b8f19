import { encountersForEndedSessions, type CheckResult } from '@vc/domain/checklist';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import pLimit from 'p-limit';
import type { FhirClient } from '../engine/ports';
import { SESSION_ERA_INSTANT } from '../phases/s2/fhir-era';

const RETRY = { retries: 4, baseMs: 250, maxMs: 5_000 };
const ERA = sql.raw(SESSION_ERA_INSTANT);

/**
 * Plan §5 "FHIR Encounters exist for all migrated ended sessions (or confirmed pre-FHIR era)". Every
 * migrated ended session of the FHIR era needs an `encounter_ref` (legacy's, or the one S2 2.4 / S4 4.1
 * created; a session whose end legacy never recorded is placed in its era by the latest instant it did
 * record). With a FHIR client, every one of those refs is looked up there too, legacy's included, in
 * batched `_id` searches retried with backoff: a ref FHIR does not hold fails the check, naming the
 * session's legacy id. FHIR still failing after the retries throws (the caller reports the check `error`).
 */
export async function checkEncounters(db: Database, tenantId: string, fhir?: () => Promise<FhirClient>): Promise<CheckResult> {
  const [counts] = await queryRows<{ ended: string | number; with_encounter: string | number; pre_fhir: string | number; backfilled: string | number }>(
    db,
    sql`select count(*) as ended,
          count(*) filter (where s.encounter_ref is not null) as with_encounter,
          count(*) filter (where s.encounter_ref is null and c.fhir_era_start is not null and ${ERA} < c.fhir_era_start) as pre_fhir,
          (select count(*) from vc_migration.encounter_backfills b where b.tenant_id = ${tenantId}) as backfilled
        from virtual_sessions s left join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
        where s.tenant_id = ${tenantId} and s.legacy_id is not null and s.status = 'ended'`,
  );
  const missing = await queryRows<{ legacy_id: string }>(
    db,
    sql`select s.legacy_id from virtual_sessions s left join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
        where s.tenant_id = ${tenantId} and s.legacy_id is not null and s.status = 'ended' and s.encounter_ref is null
          and (c.fhir_era_start is null or ${ERA} >= c.fhir_era_start)
        order by s.legacy_id limit 10`,
  );
  return encountersForEndedSessions(
    tenantId,
    {
      ended: Number(counts?.ended ?? 0),
      withEncounter: Number(counts?.with_encounter ?? 0),
      preFhirEra: Number(counts?.pre_fhir ?? 0),
      backfilled: Number(counts?.backfilled ?? 0),
    },
    missing.map((r) => r.legacy_id),
    fhir ? await lookUpAll(db, tenantId, await fhir()) : undefined,
  );
}

/** Refs per database page: enough `_id` searches to keep the FHIR concurrency busy, a bounded slice in memory. */
const PAGE_SEARCHES = 8;

/**
 * Every recorded `encounter_ref` of the tenant's migrated ended sessions, searched in FHIR: the refs come
 * from the database a page at a time (keyset on legacy_id, served by the (tenant_id, legacy_id) index),
 * each page as batched `_id` searches run 4 at a time. Memory holds one page and the ids not found.
 */
async function lookUpAll(db: Database, tenantId: string, fhir: FhirClient): Promise<{ checked: number; notFoundLegacyIds: string[] }> {
  const { MAX_IDS_PER_SEARCH } = await import('@vc/integrations/fhir');
  const { isRetryableFrom } = await import('@vc/integrations/errors');
  const { withRetry } = await import('@vc/integrations/retry');
  const limit = pLimit(4);
  const notFound: string[] = [];
  let checked = 0;
  let after = '';
  // One page's searches in flight while the next page is read: the database and FHIR wait on each other no more.
  let searching: Promise<string[][]> | undefined;
  try {
    for (;;) {
      const refs = await queryRows<{ legacy_id: string; encounter_ref: string }>(
        db,
        sql`select legacy_id, encounter_ref from virtual_sessions
            where tenant_id = ${tenantId} and legacy_id is not null and legacy_id > ${after} and status = 'ended' and encounter_ref is not null
            order by legacy_id limit ${MAX_IDS_PER_SEARCH * PAGE_SEARCHES}`,
      );
      if (refs.length > 0) {
        checked += refs.length;
        after = refs[refs.length - 1]!.legacy_id;
      }
      if (searching) notFound.push(...(await searching).flat());
      searching = undefined;
      if (refs.length === 0) break;
      const searches: Array<typeof refs> = [];
      for (let i = 0; i < refs.length; i += MAX_IDS_PER_SEARCH) searches.push(refs.slice(i, i + MAX_IDS_PER_SEARCH));
      searching = Promise.all(
        searches.map((page) =>
          limit(async () => {
            // A ref that is not `Encounter/<id>` cannot be held by FHIR: not found, without asking.
            const ids = page.map((r) => /^Encounter\/([A-Za-z0-9\-.]{1,64})$/.exec(r.encounter_ref)?.[1]);
            const asked = [...new Set(ids.filter((id): id is string => id !== undefined))];
            const held = await withRetry(() => fhir.existingEncounterIds(asked), { ...RETRY, isRetryable: isRetryableFrom('fhir') });
            return page.filter((_, i) => ids[i] === undefined || !held.has(ids[i]!)).map((r) => r.legacy_id);
          }),
        ),
      );
      // Awaited with the next page; a failure meanwhile is not left unhandled.
      searching.catch(() => undefined);
    }
  } finally {
    await searching?.catch(() => undefined);
  }
  return { checked, notFoundLegacyIds: notFound.sort() };
}
