import { PG_ERROR, pgErrorCode } from '@vc/schema';
import type { BatchAdjustment, RejectInput, Tx } from '../../engine/types';
import { settleExternalIds } from './external-ids';
import { addAdjustments, encodeSessions, sentSignal, writeSessions, type PendingLoad } from './session-rows';

/** The legacy rows of a batch's losers, by source record: read again by key, or kept from the batch (a CSV export). */
export type LoserRaws = (losers: readonly PendingLoad[]) => Promise<Map<string, Record<string, unknown>>>;

/**
 * Runs `write` under a savepoint. Resolves to undefined when it wrote, or, rolled back to the savepoint, to the unique
 * violation that refused it: the caller settles the batch again and retries. A session id is global, so another
 * tenant's transaction (another run, worker or key range) can insert one of the batch's ids after any lookup of the
 * batch; this batch's insert then waits for that transaction and fails once it commits. Only from then is the other row
 * visible (each statement of a READ COMMITTED transaction sees what committed before it began): a settle must follow
 * the refused write, one before it cannot see the row that will refuse it.
 */
export async function refusedWrite(tx: Tx, write: () => Promise<unknown>): Promise<unknown> {
  await tx.query('savepoint vc_claim');
  try {
    await write();
    await tx.query('release savepoint vc_claim');
    return undefined;
  } catch (error) {
    if (pgErrorCode(error) !== PG_ERROR.uniqueViolation) throw error;
    await tx.query('rollback to savepoint vc_claim');
    return error;
  }
}

/**
 * A batch's sessions written on the assumption that none of their ids is taken, which is what a first load finds:
 * COPY under a savepoint, and no lookup of the batch's ids beforehand (that lookup cost PostgreSQL a scan of
 * `virtual_sessions` or ten thousand index probes per batch, and could not see an id another tenant commits after it).
 * Only when PostgreSQL refuses a key — an id another row holds, two rows of the batch sharing an externalId — is the
 * write undone and the batch settled (`settleExternalIds`), inside the transaction, then written again, as often as a
 * concurrent commit refuses it (each time the settle finds at least one more loser, else the violation is thrown): the
 * first row to claim an id keeps it, the others are rejected `duplicate_external_id` with their legacy row (`raws`:
 * a batch from the legacy database does not keep its rows while it waits for its commit, it reads them again by key),
 * and their written and warning counts are taken back. A legacy row read again (`--restart-step`) is no clash:
 * `writeSessions` upserts it under its id as before.
 */
export function writeClaimingIds(
  tenantId: string,
  raws: LoserRaws,
  loads: readonly PendingLoad[],
): { write: (tx: Tx) => Promise<BatchAdjustment | void>; sent: Promise<void> } {
  const { sent, markSent } = sentSignal();
  // Let go once the sessions are sent, like the lines themselves: only a settle after a refused key needs them.
  let held: readonly PendingLoad[] | undefined = loads;
  let rawsOf: LoserRaws | undefined = raws;
  const letGo = () => {
    held = undefined;
    rawsOf = undefined;
    markSent();
  };
  const write = async (tx: Tx): Promise<BatchAdjustment | void> => {
    const rejects: RejectInput[] = [];
    const warnings: Record<string, number> = {};
    // `kept`: the sessions the service changed since, which the upsert left as they are.
    let kept: BatchAdjustment | undefined;
    const writeHeld = async () => {
      kept = await writeSessions(tx, encodeSessions(held!), letGo);
    };
    for (let refused; (refused = await refusedWrite(tx, writeHeld));) {
      if (!held || !rawsOf) throw refused;
      const settled = await settleExternalIds(
        { tenantId, query: tx.query },
        held.map((l) => ({ ...l, raw: {} })),
      );
      // Nothing this transaction can see holds one of the ids: no clash a settle resolves.
      if (settled.rejects.length === 0) throw refused;
      const byLegacyId = new Map(held.map((l) => [l.legacyId, l]));
      const losers = settled.rejects.map((r) => byLegacyId.get(r.legacyKey)!);
      const rows = await rawsOf(losers);
      rejects.push(...settled.rejects.map((r, i) => ({ ...r, raw: rows.get(losers[i]!.sourceRecord) ?? { id: r.legacyKey } })));
      for (const l of losers) for (const code of l.warnings) warnings[code] = (warnings[code] ?? 0) - 1;
      held = settled.kept;
    }
    return addAdjustments(rejects.length > 0 ? { rejects, written: -rejects.length, warnings } : undefined, kept);
  };
  return { write, sent };
}
