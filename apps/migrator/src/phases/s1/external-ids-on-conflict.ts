import { PG_ERROR, pgErrorCode } from '@vc/schema';
import type { BatchAdjustment, RejectInput, Tx } from '../../engine/types';
import type { KeyRangeReader } from '../../legacy/types';
import { settleExternalIds } from './external-ids';
import { addAdjustments, encodeSessions, sentSignal, writeSessions, type PendingLoad } from './session-rows';

/**
 * A batch's sessions written on the assumption that none of their ids is taken, which is what a first load finds:
 * COPY under a savepoint, and no lookup of the batch's ids beforehand (that lookup cost PostgreSQL a scan of
 * `virtual_sessions` or ten thousand index probes per batch). Only when PostgreSQL refuses a key — an id another
 * row holds, two rows of the batch sharing an externalId — is the write undone and the batch settled as before
 * (`settleExternalIds`), inside the transaction: the first row to claim an id keeps it, the others are rejected
 * `duplicate_external_id` with their legacy row, read again by key (a batch does not keep its legacy rows while it
 * waits for its commit), and their written and warning counts are taken back. A legacy row read again
 * (`--restart-step`) is no clash: `writeSessions` upserts it under its id as before.
 */
export function writeClaimingIds(
  tenantId: string,
  legacy: KeyRangeReader,
  loads: readonly PendingLoad[],
): { write: (tx: Tx) => Promise<BatchAdjustment | void>; sent: Promise<void> } {
  const { sent, markSent } = sentSignal();
  // Let go once the sessions are sent, like the lines themselves: only the settle after a refused key needs them.
  let held: readonly PendingLoad[] | undefined = loads;
  const write = async (tx: Tx): Promise<BatchAdjustment | void> => {
    await tx.query('savepoint vc_claim');
    try {
      const kept = await writeSessions(tx, encodeSessions(held!), () => {
        held = undefined;
        markSent();
      });
      await tx.query('release savepoint vc_claim');
      return kept;
    } catch (error) {
      if (pgErrorCode(error) !== PG_ERROR.uniqueViolation || !held) throw error;
      await tx.query('rollback to savepoint vc_claim');
    }
    const pending = held;
    held = undefined;
    return settleInTransaction(tx, tenantId, legacy, pending, markSent);
  };
  return { write, sent };
}

async function settleInTransaction(
  tx: Tx,
  tenantId: string,
  legacy: KeyRangeReader,
  loads: readonly PendingLoad[],
  sent: () => void,
): Promise<BatchAdjustment> {
  const settled = await settleExternalIds(
    { tenantId, query: tx.query },
    loads.map((l) => ({ ...l, raw: {} })),
  );
  const byLegacyId = new Map(loads.map((l) => [l.legacyId, l]));
  const losers = settled.rejects.map((r) => byLegacyId.get(r.legacyKey)!);
  const rows = await legacy.byKeys(
    'VirtualSession',
    tenantId,
    losers.map((l) => l.sourceRecord),
  );
  const raws = new Map(rows.map((row) => [row.id ?? '', row]));
  const rejects: RejectInput[] = settled.rejects.map((r, i) => ({ ...r, raw: raws.get(losers[i]!.sourceRecord) ?? { id: r.legacyKey } }));
  const kept = await writeSessions(tx, encodeSessions(settled.kept), sent);
  const warnings: Record<string, number> = {};
  for (const l of losers) for (const code of l.warnings) warnings[code] = (warnings[code] ?? 0) - 1;
  return addAdjustments({ rejects, written: -losers.length, warnings }, kept)!;
}
