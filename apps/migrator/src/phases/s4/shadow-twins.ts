import { isUuid, type WarningCode } from '@vc/domain/legacy';
import { compositeKey } from '@vc/domain/parallel-run';
import type { RejectInput, StepContext, Tx } from '../../engine/types';
import { SESSION_COLUMNS, sessionRow, type SessionFields } from '../s1/session-rows';

/**
 * During the parallel run (S2) the service runs in `VC_MODE=shadow` and takes mirrored traffic: a booking legacy
 * takes is made again by the service, a session with no legacy id (the service marks shadow sessions no other
 * way). The delta sync loads legacy's copy of the same appointment; loaded beside the service's, one appointment
 * would be two sessions after the cutover (two rooms, two join links), and with legacy's externalId naming the
 * service's session every mirrored booking would be a `duplicate_external_id` reject. So a legacy row the target
 * does not hold yet adopts its shadow twin, matched as S2 pairs them (shared id, else tenant + patient +
 * practitioner + scheduled start): the twin gets its legacy id and legacy's state, and keeps its id and room.
 */

/** The fields of a delta load this module reads and, for a twin, rewrites. */
export interface ShadowLoad {
  id: string;
  session: SessionFields & { externalId: string | null };
  sourceRecord: string;
  warnings: WarningCode[];
  raw: Record<string, unknown>;
}

/** A load that adopts the shadow session `shadowId`; `serviceSince` when the live service changed it after the cutover. */
interface Adoption<L extends ShadowLoad> {
  load: L;
  shadowId: string;
  serviceSince: boolean;
}

/** Kept in `migrated_from`, so later syncs keep the adopted session's room and tell slot adoptions apart. */
const MARK = 'shadowSession';
type MatchedBy = 'external_id' | 'slot';

interface Shadow {
  id: string;
  key: string | undefined;
  roomName: string | null;
  updatedAt: Date;
}

const UPDATED = SESSION_COLUMNS.filter((c) => c !== 'id' && c !== 'tenant_id' && c !== 'room_name' && c !== 'migrated_version');
const LEGACY_ONLY = ['legacy_id', 'migrated_from', 'legacy_updated_at'] as const;
/**
 * Whose the adopted session is from then on (still-migrated.ts): with legacy's state written, the migrator's, so
 * later syncs carry legacy's changes to it until the service writes it; changed by the live service, the service's
 * (0 is no version), though legacy's later changes to it are still counted (`session_changed_by_service`).
 */
const OWNER = { migrators: 'migrated_version = version + 1', services: 'migrated_version = 0' } as const;

const withMark = <L extends ShadowLoad>(load: L, by: MatchedBy, roomName: string | null): L =>
  ({ ...load, session: { ...load.session, roomName, migratedFrom: { ...load.session.migratedFrom, [MARK]: { matchedBy: by } } } }) as L;

const keyOf = (s: { tenantId: string; patientRef: string; practitionerRef: string | null; scheduledStart: Date | null }) => compositeKey(s);

function ambiguous(load: ShadowLoad, why: string): RejectInput {
  return {
    legacyKey: load.session.legacyId,
    reason: 'ambiguous_shadow_session',
    detail: `${why}; not loaded: set the legacy row's externalId to the id of the service session that is this appointment, then run the sync again`,
    raw: load.raw,
  };
}

/**
 * Splits a batch's loads: `adopted` (each taking over one shadow session, `write` applies them), `loads` to write as
 * before (a load of a session adopted earlier carries the adopted room, so the upsert keeps it), and `rejects`:
 * a row two or more shadow sessions fit, or whose slot session another legacy row adopted, is
 * `ambiguous_shadow_session` rather than a guess. Shadow sessions are the tenant's with no legacy id created before
 * the first cutover (the gateway switch): one the live service created after it is never touched, and one it
 * changed after it gets its legacy id but keeps the service's state, and stays the service's (see `OWNER`).
 */
export async function adoptShadowTwins<L extends ShadowLoad>(
  ctx: Pick<StepContext, 'tenantId' | 'query'>,
  given: readonly L[],
): Promise<{ loads: L[]; adopted: Array<Adoption<L>>; rejects: RejectInput[]; write: (tx: Tx) => Promise<void> }> {
  const none = { loads: [...given], adopted: [], rejects: [], write: async () => undefined };
  if (given.length === 0) return none;
  const held = await ctx.query<{ legacy_id: string; room_name: string | null; matched_by: MatchedBy | null }>(
    `select legacy_id, room_name, migrated_from -> '${MARK}' ->> 'matchedBy' as matched_by
       from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[])`,
    [ctx.tenantId, given.map((l) => l.session.legacyId)],
  );
  const stored = new Map(held.map((r) => [r.legacy_id, r]));
  const fresh = given.filter((l) => !stored.has(l.session.legacyId));
  const [cutover] = await ctx.query<{ at: Date | string | null }>(`select min(created_at) as at from vc_migration.cutovers where action = 'cutover'`);
  const cutoverAt = cutover?.at ? new Date(cutover.at) : null;
  const starts = [...new Set(fresh.map((l) => l.session.scheduledStart?.toISOString()).filter((s) => s !== undefined))];
  const ids = fresh.filter((l) => isUuid(l.session.externalId)).map((l) => l.id);
  const shadows =
    fresh.length === 0
      ? []
      : await ctx.query<{
          id: string;
          patient_ref: string;
          practitioner_ref: string | null;
          scheduled_start: Date | string | null;
          room_name: string | null;
          updated_at: Date | string;
        }>(
          `select id, patient_ref, practitioner_ref, scheduled_start, room_name, updated_at from virtual_sessions
            where tenant_id = $1 and legacy_id is null and ($2::timestamptz is null or created_at < $2)
              and (id = any($3::uuid[]) or scheduled_start = any($4::timestamptz[]))
            order by created_at, id`,
          [ctx.tenantId, cutoverAt, ids, starts],
        );
  // Slot sessions adopted before (this sync or an earlier one): a second legacy row of the same slot is ambiguous.
  const slotTaken = new Map<string, string>();
  if (fresh.length > 0) {
    const adoptedBySlot = await ctx.query<{ legacy_id: string; patient_ref: string; practitioner_ref: string | null; scheduled_start: Date | string }>(
      `select legacy_id, patient_ref, practitioner_ref, scheduled_start from virtual_sessions
        where tenant_id = $1 and migrated_from -> '${MARK}' ->> 'matchedBy' = 'slot' and scheduled_start = any($2::timestamptz[])`,
      [ctx.tenantId, starts],
    );
    for (const r of adoptedBySlot) {
      const key = keyOf({
        tenantId: ctx.tenantId,
        patientRef: r.patient_ref,
        practitionerRef: r.practitioner_ref,
        scheduledStart: new Date(r.scheduled_start),
      });
      if (key) slotTaken.set(key, r.legacy_id);
    }
  }
  const found: Shadow[] = shadows.map((r) => ({
    id: r.id,
    key: keyOf({
      tenantId: ctx.tenantId,
      patientRef: r.patient_ref,
      practitionerRef: r.practitioner_ref,
      scheduledStart: r.scheduled_start === null ? null : new Date(r.scheduled_start),
    }),
    roomName: r.room_name,
    updatedAt: new Date(r.updated_at),
  }));
  const byId = new Map(found.map((s) => [s.id, s]));
  const claimed = new Set<string>();
  const loads: L[] = [];
  const adopted: Array<Adoption<L>> = [];
  const rejects: RejectInput[] = [];
  const adopt = (load: L, shadow: Shadow, by: MatchedBy) => {
    claimed.add(shadow.id);
    const serviceSince = cutoverAt !== null && shadow.updatedAt >= cutoverAt;
    adopted.push({ load: withMark({ ...load, id: shadow.id }, by, shadow.roomName), shadowId: shadow.id, serviceSince });
  };
  // In read order, as the pass meets them: the outcome does not depend on where batches end.
  for (const load of given) {
    const kept = stored.get(load.session.legacyId);
    if (kept) {
      loads.push(kept.matched_by ? withMark(load, kept.matched_by, kept.room_name) : load);
      continue;
    }
    const twin = isUuid(load.session.externalId) ? byId.get(load.id) : undefined;
    if (twin && !claimed.has(twin.id)) {
      adopt(load, twin, 'external_id');
      continue;
    }
    const key = keyOf(load.session);
    const fits = key === undefined ? [] : found.filter((s) => s.key === key && !claimed.has(s.id));
    const taken = key === undefined ? undefined : slotTaken.get(key);
    if (taken !== undefined)
      rejects.push(ambiguous(load, `the service session of its slot (tenant, patient, practitioner, scheduled start) was adopted by legacy session ${taken}`));
    else if (fits.length > 1)
      rejects.push(
        ambiguous(
          load,
          `${fits.length} shadow-mode sessions of the service share its tenant, patient, practitioner and scheduled start (${fits.map((s) => s.id).join(', ')})`,
        ),
      );
    else if (fits.length === 1) {
      adopt(load, fits[0]!, 'slot');
      slotTaken.set(key!, load.session.legacyId);
    } else loads.push(load);
  }
  return { loads, adopted, rejects, write: (tx) => writeAdoptions(tx, ctx.tenantId, adopted) };
}

/** Each adoption: one UPDATE of the shadow row, guarded by `legacy_id is null` (a re-run adopts nothing twice). */
async function writeAdoptions<L extends ShadowLoad>(tx: Tx, tenantId: string, adopted: ReadonlyArray<Adoption<L>>): Promise<void> {
  for (const { load, shadowId, serviceSince } of adopted) {
    const row = sessionRow(shadowId, load.session, load.sourceRecord, load.warnings);
    const value = (c: (typeof SESSION_COLUMNS)[number]) => row[SESSION_COLUMNS.indexOf(c)];
    // A session the live service changed since the cutover keeps its state: only whose legacy row it is.
    const columns = serviceSince ? [...LEGACY_ONLY] : UPDATED;
    const set = [...columns.map((c, i) => `${c} = $${i + 3}`), serviceSince ? OWNER.services : OWNER.migrators].join(', ');
    await tx.query(`update virtual_sessions set ${set}, version = version + 1 where tenant_id = $1 and id = $2 and legacy_id is null`, [
      tenantId,
      shadowId,
      ...columns.map((c) => (c === 'migrated_from' ? JSON.stringify(value(c)) : value(c))),
    ]);
    await tx.insertMany(
      'vc_migration.id_map',
      ['tenant_id', 'entity', 'legacy_id', 'new_id'],
      [[tenantId, 'VirtualSession', load.session.legacyId, shadowId]],
      {
        onConflict: '(tenant_id, entity, legacy_id) do nothing',
      },
    );
  }
}
