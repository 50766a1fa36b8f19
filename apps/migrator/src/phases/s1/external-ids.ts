import type { RejectInput, StepContext } from '../../engine/types';

/** A session about to be written: its new id (its externalId when that is a uuid) and its legacy row. */
export interface SessionCandidate {
  id: string;
  legacyId: string;
  raw: Record<string, unknown>;
}

/**
 * Legacy rows with different ids can share one externalId (legacy never enforced it everywhere), and the
 * externalId is the new session id: the first row to claim it keeps it — earlier in this batch, or
 * already in `virtual_sessions` (an earlier batch, run, phase, another tenant, or the service) — and the
 * others are rejected `duplicate_external_id`. The same legacy row read again is not a clash.
 * Shared by S1 1.1 and S4's delta sync.
 */
export async function settleExternalIds<C extends SessionCandidate>(
  ctx: Pick<StepContext, 'tenantId' | 'query'>,
  candidates: readonly C[],
): Promise<{ kept: C[]; rejects: RejectInput[] }> {
  const owner = new Map<string, { tenantId: string; legacyId: string | null }>();
  if (candidates.length > 0) {
    const rows = await ctx.query<{ id: string; tenant_id: string; legacy_id: string | null }>(
      'select id, tenant_id, legacy_id from virtual_sessions where id = any($1::uuid[])',
      [candidates.map((c) => c.id)],
    );
    for (const row of rows) owner.set(row.id, { tenantId: row.tenant_id, legacyId: row.legacy_id });
  }
  const kept: C[] = [];
  const rejects: RejectInput[] = [];
  for (const c of candidates) {
    const held = owner.get(c.id);
    if (!held || (held.tenantId === ctx.tenantId && held.legacyId === c.legacyId)) {
      owner.set(c.id, { tenantId: ctx.tenantId, legacyId: c.legacyId });
      kept.push(c);
      continue;
    }
    rejects.push(clashReject(ctx.tenantId, c, held));
  }
  return { kept, rejects };
}

/** Who holds a session id: its tenant and legacy id (null for a session the service made). */
export interface IdHolder {
  tenantId: string;
  legacyId: string | null;
}

/** The detail of a `duplicate_external_id` reject; another tenant's legacy id is not this tenant's business: named only within the tenant. */
export function clashDetail(tenantId: string, held: IdHolder): string {
  const by = held.tenantId === tenantId && held.legacyId !== null ? `legacy session ${held.legacyId}` : 'another session';
  return `externalId is already the id of ${by} (expected one legacy row per externalId); that row keeps it`;
}

export function clashReject(tenantId: string, c: Pick<SessionCandidate, 'legacyId' | 'raw'>, held: IdHolder): RejectInput {
  return { legacyKey: c.legacyId, reason: 'duplicate_external_id', detail: clashDetail(tenantId, held), raw: c.raw };
}
