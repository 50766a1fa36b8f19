import type { BatchAdjustment, RejectInput, Tx } from '../../engine/types';
import type { KeyRangeReader } from '../../legacy/types';
import { clashDetail, clashReject, type IdHolder, type SessionCandidate } from './external-ids';

/** A candidate with the warnings it was counted with (a candidate that loses no longer counts them). */
export interface CountedCandidate extends SessionCandidate {
  warnings: readonly string[];
}

const CANONICAL = /^[1-9]\d{0,18}$/;

/** Whether legacy id `a` comes before `b` in legacy key order (VirtualSession ids are bigints). */
function before(a: string, b: string): boolean {
  return CANONICAL.test(a) && CANONICAL.test(b) && BigInt(a) < BigInt(b);
}

interface Holder<C> extends IdHolder {
  /** Set when the holder is a candidate of this batch, not a stored row. */
  candidate?: C;
  warnings?: readonly string[];
}

const subtract = (into: Record<string, number>, codes: readonly string[]) => {
  for (const code of codes) into[code] = (into[code] ?? 0) - 1;
};

/**
 * `settleExternalIds` for one key range of a split tenant, whose ranges commit in any order. A single run
 * reads legacy in key order, so there the first row to claim an externalId is the lowest legacy id; here
 * that rule is applied as such, inside the batch's transaction under a per-tenant transaction lock (so two
 * ranges never both see an id as free): the lowest legacy id of the tenant keeps the externalId. A lower
 * candidate displaces the tenant's row holding it: that row is deleted with its id-map row and rejected
 * `duplicate_external_id` with its legacy row as read, rejects that named it are renamed to the new
 * holder, and its written and warning counts are taken back. The target then equals a single run's.
 */
export async function settleExternalIdsByKey<C extends CountedCandidate>(
  tx: Tx,
  tenantId: string,
  legacy: KeyRangeReader,
  candidates: readonly C[],
): Promise<{ kept: C[]; adjustment: BatchAdjustment }> {
  const rejects: RejectInput[] = [];
  const warnings: Record<string, number> = {};
  let written = 0;
  if (candidates.length === 0) return { kept: [], adjustment: {} };
  await tx.query(`select pg_advisory_xact_lock(hashtext('vc_migration'), hashtext($1))`, [`${tenantId}:s1:external-ids`]);
  const owner = new Map<string, Holder<C>>();
  const rows = await tx.query<{ id: string; tenant_id: string; legacy_id: string | null; warnings: string[] | null }>(
    `select id, tenant_id, legacy_id, migrated_from->'warnings' as warnings from virtual_sessions where id = any($1::uuid[])`,
    [candidates.map((c) => c.id)],
  );
  for (const row of rows) owner.set(row.id, { tenantId: row.tenant_id, legacyId: row.legacy_id, warnings: row.warnings ?? [] });
  const kept = new Map<string, C>();
  const displaced: Array<{ id: string; legacyId: string; winner: string; warnings: readonly string[] }> = [];
  const lose = (c: C, held: IdHolder) => {
    kept.delete(c.legacyId);
    rejects.push(clashReject(tenantId, c, held));
    written -= 1;
    subtract(warnings, c.warnings);
  };
  for (const c of candidates) {
    const held = owner.get(c.id);
    const mine = { tenantId, legacyId: c.legacyId, candidate: c };
    if (!held || (held.tenantId === tenantId && held.legacyId === c.legacyId)) {
      owner.set(c.id, mine);
      kept.set(c.legacyId, c);
    } else if (held.tenantId === tenantId && held.legacyId !== null && before(c.legacyId, held.legacyId)) {
      if (held.candidate) lose(held.candidate, mine);
      else displaced.push({ id: c.id, legacyId: held.legacyId, winner: c.legacyId, warnings: held.warnings ?? [] });
      owner.set(c.id, mine);
      kept.set(c.legacyId, c);
    } else lose(c, held);
  }
  if (displaced.length > 0) {
    const raws = new Map(
      (
        await legacy.byKeys(
          'VirtualSession',
          tenantId,
          displaced.map((d) => d.legacyId),
        )
      ).map((row) => [row.id ?? '', row]),
    );
    await tx.query(`delete from virtual_sessions where tenant_id = $1 and id = any($2::uuid[])`, [tenantId, displaced.map((d) => d.id)]);
    await tx.query(`delete from vc_migration.id_map where tenant_id = $1 and entity = 'VirtualSession' and legacy_id = any($2::text[])`, [
      tenantId,
      displaced.map((d) => d.legacyId),
    ]);
    for (const d of displaced) {
      const winner = { tenantId, legacyId: d.winner };
      rejects.push(clashReject(tenantId, { legacyId: d.legacyId, raw: { ...(raws.get(d.legacyId) ?? { id: d.legacyId }) } }, winner));
      // Rows an earlier batch rejected for clashing with the displaced one clash with the new holder now.
      await tx.query(
        `update vc_migration.rejects set detail = $4 where tenant_id = $1 and phase = 's1' and step_id = '1.1' and reason = 'duplicate_external_id' and detail = $3 and legacy_key <> $2`,
        [tenantId, d.winner, clashDetail(tenantId, { tenantId, legacyId: d.legacyId }), clashDetail(tenantId, winner)],
      );
      written -= 1;
      subtract(warnings, d.warnings);
    }
  }
  return { kept: [...kept.values()], adjustment: { rejects, written, warnings } };
}
