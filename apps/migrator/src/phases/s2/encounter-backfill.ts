import { buildEncounter, type EncounterParticipant } from '@vc/domain/encounter';
import { IntegrationError, isRetryableFrom } from '@vc/integrations/errors';
import { withRetry } from '@vc/integrations/retry';
import pLimit from 'p-limit';
import type { Cursor, RejectInput, StepContext, Tx } from '../../engine/types';
import { SESSION_ERA_INSTANT } from './fhir-era';

/**
 * Most conditional creates per committed page (a smaller --batch-size makes pages smaller). A kill
 * re-sends at most one page, which the conditional create answers with the Encounters made before; a
 * small page keeps that bounded and the progress line moving.
 */
const MAX_PAGE_SIZE = 200;
const RETRY = { retries: 4, baseMs: 200, maxMs: 5_000 };

/** What a backfill did so far (kept in the step's facts across resumed runs). */
export interface BackfillTotals {
  candidates: number;
  created: number;
  existing: number;
  rejected: number;
}

interface Candidate {
  id: string;
  legacy_id: string;
  patient_ref: string;
  practitioner_ref: string | null;
  started_at: Date | string | null;
  ended_at: Date | string | null;
}

interface ParticipantRow {
  session_id: string;
  participant_ref: string;
  first_joined_at: Date | string | null;
  last_left_at: Date | string | null;
  last_joined_at: Date | string | null;
}

const toDate = (v: Date | string | null) => (v === null ? null : new Date(v));

/**
 * Migrated ended sessions legacy left without an Encounter, inside the tenant's FHIR era; those whose end
 * legacy never recorded too (their Encounter has what is known, see buildEncounter).
 */
const CANDIDATES = `
  from virtual_sessions s
  left join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
  where s.tenant_id = $1 and s.legacy_id is not null and s.status = 'ended'
    and s.encounter_ref is null and (c.fhir_era_start is null or ${SESSION_ERA_INSTANT} >= c.fhir_era_start)`;

/**
 * Plan §5: "FHIR Encounters exist for all migrated ended sessions (or confirmed pre-FHIR era)". Legacy
 * recorded an Encounter for only some of its ended sessions; for each other one that ended inside the
 * tenant's FHIR era (`fhir_era_start`, null = all of them), this creates the Encounter the new service
 * would have: the conditional create keyed by the session id makes a retried or resumed call find the
 * one made before instead of a second. Each page's `encounter_ref`s, their record in
 * `vc_migration.encounter_backfills` and the cursor commit in one transaction. An Encounter FHIR refuses
 * (4xx) is quarantined as a reject naming the legacy id; throttling and 5xx are retried, then fail the
 * step (resumable). Under --dry-run the same code runs on a FHIR recorder and a rolled-back transaction.
 *
 * `cursorBase` is the rest of the calling step's cursor, kept on every commit. Returns the totals, or
 * undefined when a signal stopped it between pages.
 */
export async function backfillEncounters(
  ctx: StepContext,
  cursorBase: Cursor,
  after: string | null,
  earlier?: BackfillTotals,
): Promise<BackfillTotals | undefined> {
  const totals: BackfillTotals = { candidates: 0, created: 0, existing: 0, rejected: 0, ...earlier };
  const [count] = await ctx.query<{ n: number }>(`select count(*)::int as n ${CANDIDATES} and ($2::uuid is null or s.id > $2::uuid)`, [ctx.tenantId, after]);
  const remaining = count?.n ?? 0;
  if (remaining === 0) return totals;
  // Loaded on first use: the FHIR module pulls in @medplum/core, and most runs of S4 have nothing to backfill.
  // Under --dry-run a recorder: it finds what exists and records the creates instead of sending them.
  const fhir = await ctx.services.fhir();
  const { SESSION_IDENTIFIER_SYSTEM } = await import('@vc/integrations/fhir');
  const limit = pLimit(ctx.options.concurrency);
  let done = 0;
  for (let cursor = after; ;) {
    // Keyset on the session id, not on `encounter_ref is null`: a refused Encounter stays null and must be passed.
    const page = await ctx.query<Candidate>(
      `select s.id, s.legacy_id, s.patient_ref, s.practitioner_ref, s.started_at, s.ended_at ${CANDIDATES}
         and ($2::uuid is null or s.id > $2::uuid) order by s.id limit ${Math.min(ctx.options.batchSize, MAX_PAGE_SIZE)}`,
      [ctx.tenantId, cursor],
    );
    if (page.length === 0) return totals;
    const participants = await participantsOf(
      ctx,
      page.map((s) => s.id),
    );
    const made: Array<{ id: string; legacyId: string; ref: string; created: boolean }> = [];
    const rejects: RejectInput[] = [];
    let failure: Error | undefined;
    await Promise.all(
      page.map((s) =>
        limit(async () => {
          // After one failure the rest of the page is not sent: the step fails and resumes from this page.
          if (failure) return;
          try {
            const result = await createOne(fhir, SESSION_IDENTIFIER_SYSTEM, s, participants.get(s.id) ?? []);
            made.push({ id: s.id, legacyId: s.legacy_id, ...result });
          } catch (error) {
            if (error instanceof IntegrationError && error.refusesRequest) rejects.push(refused(s, error));
            else failure ??= new Error(`creating the Encounter of VirtualSession:${s.legacy_id} failed${retriedAway(error)}`, { cause: error });
          }
        }),
      ),
    );
    if (failure) throw failure;
    cursor = page[page.length - 1]!.id;
    done += page.length;
    totals.candidates += page.length;
    totals.rejected += rejects.length;
    for (const m of made) totals[m.created ? 'created' : 'existing'] += 1;
    await ctx.commit({
      cursor: { ...cursorBase, encountersAfter: cursor },
      read: page.length,
      written: made.length,
      rejects,
      facts: { backfill: { ...totals } },
      write: made.length === 0 ? undefined : (tx) => recordEncounters(tx, ctx, made),
    });
    ctx.progress(done, remaining);
    if (ctx.signal.aborted) return undefined;
  }
}

type Fhir = Awaited<ReturnType<StepContext['services']['fhir']>>;

async function createOne(
  fhir: Fhir,
  SESSION_IDENTIFIER_SYSTEM: string,
  s: Candidate,
  participants: readonly EncounterParticipant[],
): Promise<{ ref: string; created: boolean }> {
  const session = { id: s.id, patientRef: s.patient_ref, practitionerRef: s.practitioner_ref, startedAt: toDate(s.started_at), endedAt: toDate(s.ended_at) };
  const encounter = buildEncounter(session, participants, SESSION_IDENTIFIER_SYSTEM);
  return withRetry(() => fhir.createEncounterIfAbsent(encounter, { system: SESSION_IDENTIFIER_SYSTEM, value: s.id }), {
    ...RETRY,
    isRetryable: isRetryableFrom('fhir'),
  });
}

/** How the failure reads after "failed": FHIR's own messages name the request and status, never the body. */
function retriedAway(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (error as { retryable?: unknown }).retryable === true ? ` after retries: ${message}` : `: ${message}`;
}

/** A 4xx is the server's final word on that Encounter: quarantined by legacy id, with the status, never the body. */
function refused(s: Candidate, error: { status: number | undefined; message: string }): RejectInput {
  return {
    legacyKey: `VirtualSession:${s.legacy_id}`,
    reason: 'encounter_refused',
    detail: `FHIR refused the Encounter (HTTP ${error.status ?? 'error'}): ${error.message}`,
    raw: { sessionId: s.id, legacyId: s.legacy_id },
  };
}

async function participantsOf(ctx: StepContext, sessionIds: readonly string[]): Promise<Map<string, EncounterParticipant[]>> {
  const rows = await ctx.query<ParticipantRow>(
    `select session_id, participant_ref, first_joined_at, last_left_at, last_joined_at from session_participants
      where session_id in (select jsonb_array_elements_text($1::jsonb)::uuid)`,
    [JSON.stringify(sessionIds)],
  );
  const out = new Map<string, EncounterParticipant[]>();
  for (const r of rows) {
    const list = out.get(r.session_id) ?? [];
    list.push({
      participantRef: r.participant_ref,
      firstJoinedAt: toDate(r.first_joined_at),
      lastLeftAt: toDate(r.last_left_at),
      lastJoinedAt: toDate(r.last_joined_at),
    });
    out.set(r.session_id, list);
  }
  return out;
}

/**
 * Sets each session's `encounter_ref` where it is still empty (never over one legacy or the service
 * recorded meanwhile), and records the ones set as the migrator's (replacing the record of an Encounter
 * an operator had it re-create, see runbooks/validate.md). `updated_at` stays legacy's: S4's
 * delta sync takes a legacy edit only when it is newer than the row, and a backfill is no edit of the session.
 */
async function recordEncounters(tx: Tx, ctx: StepContext, made: ReadonlyArray<{ id: string; legacyId: string; ref: string; created: boolean }>): Promise<void> {
  await tx.query(
    `with v as (select * from jsonb_to_recordset($1::jsonb) as x(id uuid, "legacyId" text, ref text, created boolean)),
          updated as (
            update virtual_sessions s set encounter_ref = v.ref from v
             where s.id = v.id and s.tenant_id = $2 and s.encounter_ref is null returning s.id)
     insert into vc_migration.encounter_backfills (session_id, tenant_id, legacy_id, encounter_ref, created, phase)
     select v.id, $2, v."legacyId", v.ref, v.created, $3 from v join updated u on u.id = v.id
     on conflict (session_id) do update set encounter_ref = excluded.encounter_ref, created = excluded.created, phase = excluded.phase, backfilled_at = now()`,
    [JSON.stringify(made), ctx.tenantId, ctx.phase],
  );
}

/**
 * Sessions whose Encounter the migrator created and whose legacy row later brought one of its own (legacy
 * was still live): the session now points at legacy's, and the migrator's is a duplicate in the EHR for
 * an operator to retract. Legacy ids, at most `limit`, plus the total.
 */
export async function supersededBackfills(ctx: StepContext, limit = 10): Promise<{ count: number; legacyIds: string[] }> {
  const rows = await ctx.query<{ legacy_id: string; total: number }>(
    `select b.legacy_id, count(*) over ()::int as total from vc_migration.encounter_backfills b
       join virtual_sessions s on s.id = b.session_id
      where b.tenant_id = $1 and s.encounter_ref is distinct from b.encounter_ref
      order by b.legacy_id limit ${limit}`,
    [ctx.tenantId],
  );
  return { count: rows[0]?.total ?? 0, legacyIds: rows.map((r) => r.legacy_id) };
}
