import { shadowAdoptLock } from '@vc/schema';
import type { WarningCode } from '@vc/domain/legacy';
import { storableReject } from '../../engine/storable-reject';
import type { BatchAdjustment, RejectInput, Tx } from '../../engine/types';
import { TARGET_SESSION_COLUMN_LIST } from '../../validate/session-digests';
import { writeSettlingRefusals } from '../s1/external-ids-on-conflict';
import { SESSION_COLUMNS, sessionRow } from '../s1/session-rows';
import { legacyMoved, migratorBump, sessionStillMigrated } from '../still-migrated';
import { LOADED_UPCOMING, type DeltaSession } from './delta-session';
import type { MetRow } from './export-twins';
import { adoptShadowTwins } from './shadow-twins';

// How a delta sync (4.1, 4.3) writes a batch of sessions: the upsert, the externalId claims, the shadow twins adopted.

const UPDATED = SESSION_COLUMNS.filter((c) => c !== 'id' && c !== 'tenant_id' && c !== 'legacy_id' && c !== 'created_at' && c !== 'migrated_version');
const assign = (c: string) =>
  // An Encounter the migrator backfilled (S2 2.4) stays when legacy still has none.
  c === 'encounter_ref' ? 'encounter_ref = coalesce(excluded.encounter_ref, virtual_sessions.encounter_ref)' : `${c} = excluded.${c}`;
/** The columns the S1 mapping decides and no later step changes: validate's session projection (session-digests.ts). */
const PROJECTED = TARGET_SESSION_COLUMN_LIST.filter((c) => c !== 'legacy_id');
const projected = (table: string) => `(${PROJECTED.map((c) => `${table}.${c}`).join(', ')})`;
/**
 * Only a row still the migrator's takes legacy's values (still-migrated.ts): one the service wrote since is never
 * overwritten by legacy. It takes another legacy version (stamped later or earlier than the one loaded: legacy's
 * clock may go back); the same version loaded as upcoming once it is past; and the same version with other content
 * (see `changing` in 4.1-delta-sync.ts). A row loaded `scheduled` before rows carried the mark is known by its status. The write is a new
 * version (a service transition that read the old one is refused), still the migrator's.
 */
const ON_CONFLICT = `(tenant_id, legacy_id) do update set ${UPDATED.map(assign).join(', ')}, ${migratorBump('virtual_sessions', true)}
  where ${sessionStillMigrated('virtual_sessions', 'excluded.updated_at')}
    and (${legacyMoved('virtual_sessions', 'excluded.updated_at')}
      or ((virtual_sessions.status = 'scheduled' or coalesce(virtual_sessions.migrated_from ? '${LOADED_UPCOMING}', false))
        and not coalesce(excluded.migrated_from ? '${LOADED_UPCOMING}', false))
      or ${projected('virtual_sessions')} is distinct from ${projected('excluded')})`;

export interface DeltaLoad extends MetRow {
  id: string;
  session: DeltaSession;
  warnings: WarningCode[];
}

/**
 * A batch's sessions and id-map rows, written as S1 1.1 writes them when another writer can claim one of their ids
 * meanwhile: the settle above ran before this transaction, so a session committed under one of the ids after it
 * refuses the write (a unique violation on the session id). The write is then undone to its savepoint, settled again
 * inside the transaction and retried (`writeSettlingRefusals`): the session committed first keeps the id, the others
 * are rejected `duplicate_external_id` with their legacy row, and their written and warning counts taken back. A loser
 * whose id the service took meanwhile, in shadow mode, for this tenant is that session's legacy row: it adopts it
 * (shadow-twins.ts), as it would have had the service committed before the sync looked.
 */
async function writeClaiming(tx: Tx, tenantId: string, loads: readonly DeltaLoad[]): Promise<BatchAdjustment | undefined> {
  if (loads.length === 0) return undefined;
  const rejects: RejectInput[] = [];
  const warnings: Record<string, number> = {};
  const takeBack = (load: DeltaLoad, reject: RejectInput) => {
    // Stored as the batch's own rejects are (skippingKnownRejects): a raw value jsonb cannot hold, as escape text.
    rejects.push(storableReject(reject));
    for (const code of load.warnings) warnings[code] = (warnings[code] ?? 0) - 1;
  };
  const late = await adoptLateTwins(tx, tenantId, loads);
  const byLegacyId = new Map(loads.map((l) => [l.session.legacyId, l]));
  for (const reject of late.rejects) takeBack(byLegacyId.get(reject.legacyKey)!, reject);
  let held = late.loads;
  await writeSettlingRefusals(tx, tenantId, {
    held: () => held,
    write: async () => {
      const rows = held.map((l) => sessionRow(l.id, l.session, l.sourceRecord, l.warnings));
      await tx.insertMany('virtual_sessions', SESSION_COLUMNS, rows, { onConflict: ON_CONFLICT, conflictsLikely: true });
      // The same id map S1 keeps, so later phases join legacy and new ids for delta rows too.
      await tx.insertMany(
        'vc_migration.id_map',
        ['tenant_id', 'entity', 'legacy_id', 'new_id'],
        rows.map((r) => [r[1], 'VirtualSession', r[2], r[0]]),
        { onConflict: '(tenant_id, entity, legacy_id) do nothing' },
      );
    },
    lost: async (losers, kept) => {
      const shadow = await adoptShadowTwins(
        { tenantId, query: tx.query },
        losers.map((l) => l.candidate),
      );
      // Adopted: written (and counted) still, as an update of the service's session.
      await shadow.write(tx);
      for (const reject of shadow.rejects) takeBack(losers.find((l) => l.candidate.session.legacyId === reject.legacyKey)!.candidate, reject);
      const left = new Set(shadow.loads.map((l) => l.session.legacyId));
      for (const { candidate, reject } of losers)
        if (left.has(candidate.session.legacyId)) takeBack(candidate, { ...reject, raw: { ...candidate.raw }, source: candidate.source });
      held = kept;
    },
  });
  return rejects.length > 0 ? { rejects, written: -rejects.length, warnings } : undefined;
}

/**
 * The twins the service committed after the batch looked for them (`adoptShadowTwins` runs before the transaction),
 * adopted now. A shadow session that shares a row's externalId would refuse the insert (see `writeClaiming`), but one
 * of the same slot only (tenant, patient, practitioner, scheduled start) refuses nothing: loaded beside it, legacy's
 * row would be the appointment's second session. Runs under the tenant's shadow lock (see `writeBatch`).
 */
async function adoptLateTwins(tx: Tx, tenantId: string, loads: readonly DeltaLoad[]): Promise<{ loads: DeltaLoad[]; rejects: RejectInput[] }> {
  const late = await adoptShadowTwins({ tenantId, query: tx.query }, loads);
  // Adopted: written (and counted) still, as an update of the service's session.
  await late.write(tx);
  return late;
}

/**
 * A batch's adoptions and sessions, under the tenant's shadow lock taken first (before any row is touched, so the
 * batch never waits for the lock holding a row another waits for), exclusive until the batch commits: the service's
 * shadow-mode creates hold it shared (see shadowAdoptLock). A create under way is waited for, and the second twin
 * look-up (`adoptLateTwins`) sees it; a later one waits for the commit and then finds legacy's row (the service
 * refuses to make a second). Held for the batch's write only: that look-up, the adoptions, the insert of its rows and
 * id map, its rejects and checkpoint. A batch that writes no session takes no lock.
 */
export async function writeBatch(
  tx: Tx,
  tenantId: string,
  adopt: (tx: Tx) => Promise<void>,
  writes: readonly DeltaLoad[],
): Promise<BatchAdjustment | undefined> {
  if (writes.length > 0) await tx.db.execute(shadowAdoptLock(tenantId));
  await adopt(tx);
  return writeClaiming(tx, tenantId, writes);
}
