import { migrationRejects, type Database } from '@vc/schema';
import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import { storableReject } from '../storable-reject';
import type { PhaseId, RejectInput, Tx } from '../types';
import type { StepKey } from './checkpoints';
import { bulkTarget } from './columns';

/** `vc_migration.rejects`: every source row that could not be loaded, with why and its raw row. */

const TARGET = bulkTarget(migrationRejects, ['tenantId', 'phase', 'stepId', 'legacyKey', 'reason', 'detail', 'raw', 'source']);

/**
 * Rejects whose legacy key and reason another source row of the step already holds (a CSV export with one
 * id twice) are keyed by their location too (`id@VirtualSession.csv:12`), so each source row keeps its
 * own reject; the same row rejected again (a re-run) keeps its key and changes nothing.
 */
async function locatedKeys(db: Database, key: StepKey, rejects: RejectInput[]): Promise<RejectInput[]> {
  if (!rejects.some((r) => r.source !== undefined)) return rejects;
  const held = await db
    .select({ legacyKey: migrationRejects.legacyKey, reason: migrationRejects.reason, source: migrationRejects.source })
    .from(migrationRejects)
    .where(
      and(
        eq(migrationRejects.tenantId, key.tenantId),
        eq(migrationRejects.phase, key.phase),
        eq(migrationRejects.stepId, key.stepId),
        inArray(migrationRejects.legacyKey, [...new Set(rejects.map((r) => r.legacyKey))]),
      ),
    );
  const owner = new Map(held.map((h) => [`${h.legacyKey}\u0000${h.reason}`, h.source]));
  return rejects.map((r) => {
    const k = `${r.legacyKey}\u0000${r.reason}`;
    const source = r.source ?? null;
    if (!owner.has(k)) {
      owner.set(k, source);
      return r;
    }
    return owner.get(k) === source || source === null ? r : { ...r, legacyKey: `${r.legacyKey}@${source}` };
  });
}

/** Rejects of one batch, in the batch's transaction; a source row already rejected for that reason is left as it is. */
export async function insertRejects(tx: Tx, key: StepKey, rejects: readonly RejectInput[]): Promise<void> {
  if (rejects.length === 0) return;
  const located = await locatedKeys(tx.db, key, rejects.map(storableReject));
  const rows = located.map((r) => [key.tenantId, key.phase, key.stepId, r.legacyKey, r.reason, r.detail ?? null, r.raw, r.source ?? null]);
  await tx.insertMany(TARGET.table, TARGET.columns, rows, { onConflict: '(tenant_id, phase, step_id, legacy_key, reason) do nothing' });
}

/** Reject counts by reason (all steps of the phase, or one step). */
export async function rejectCounts(db: Database, tenantId: string, phase: PhaseId, stepId?: string): Promise<Record<string, number>> {
  const rows = await db
    .select({ reason: migrationRejects.reason, n: count() })
    .from(migrationRejects)
    .where(
      and(eq(migrationRejects.tenantId, tenantId), eq(migrationRejects.phase, phase), stepId === undefined ? undefined : eq(migrationRejects.stepId, stepId)),
    )
    .groupBy(migrationRejects.reason)
    .orderBy(asc(migrationRejects.reason));
  return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
}

/** Forgets what these steps rejected (`--restart-step`). */
export async function deleteRejects(db: Database, tenantId: string, phase: PhaseId, stepIds: readonly string[]): Promise<void> {
  await db
    .delete(migrationRejects)
    .where(and(eq(migrationRejects.tenantId, tenantId), eq(migrationRejects.phase, phase), inArray(migrationRejects.stepId, [...stepIds])));
}

/** What `migrator rejects` filters on: a tenant, and optionally one reason and one phase. */
export interface RejectFilter {
  tenantId: string;
  reason?: string;
  phase?: string;
}

const filterIs = (f: RejectFilter) =>
  and(
    eq(migrationRejects.tenantId, f.tenantId),
    f.reason ? eq(migrationRejects.reason, f.reason) : undefined,
    f.phase ? eq(migrationRejects.phase, f.phase) : undefined,
  );

/** The rejects matching `filter`, at most `limit`; `raw` (PHI) is read only when asked for, else null. */
export async function listRejects(
  db: Database,
  filter: RejectFilter,
  limit: number,
  withRaw: boolean,
): Promise<Array<Pick<typeof migrationRejects.$inferSelect, 'phase' | 'stepId' | 'legacyKey' | 'reason' | 'detail' | 'raw' | 'createdAt'>>> {
  return db
    .select({
      phase: migrationRejects.phase,
      stepId: migrationRejects.stepId,
      legacyKey: migrationRejects.legacyKey,
      reason: migrationRejects.reason,
      detail: migrationRejects.detail,
      createdAt: migrationRejects.createdAt,
      raw: withRaw ? migrationRejects.raw : sql<null>`null`,
    })
    .from(migrationRejects)
    .where(filterIs(filter))
    .orderBy(asc(migrationRejects.phase), asc(migrationRejects.stepId), asc(migrationRejects.reason), asc(migrationRejects.legacyKey))
    .limit(limit);
}

/** Counts by reason of the rejects matching `filter`. */
export async function rejectReasonCounts(db: Database, filter: RejectFilter): Promise<Record<string, number>> {
  const rows = await db
    .select({ reason: migrationRejects.reason, n: count() })
    .from(migrationRejects)
    .where(filterIs(filter))
    .groupBy(migrationRejects.reason)
    .orderBy(asc(migrationRejects.reason));
  return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
}
