import { PG_ERROR, pgErrorCode } from '@vc/schema';
import type { BatchAdjustment, RejectInput, Tx } from '../../engine/types';
import { settleExternalIds, type SessionCandidate } from './external-ids';
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

/** A row a settle after a refused write took out of the write: its candidate, and its reject (no raw row yet). */
export interface Loser<C> {
  candidate: C;
  reject: RejectInput;
}

/** What {@link writeSettlingRefusals} writes and settles. */
export interface RefusableWrite<C extends Omit<SessionCandidate, 'raw'>> {
  /** Writes the sessions held now. */
  write: () => Promise<unknown>;
  /** The candidates the write holds now; undefined once it let go of them (after sending them), when no settle can follow. */
  held: () => readonly C[] | undefined;
  /** Takes a settle's losers out (their reject, their counts) and keeps the rest for the next write. */
  lost: (losers: ReadonlyArray<Loser<C>>, kept: C[]) => Promise<void>;
}

/**
 * Runs `write` under a savepoint until PostgreSQL takes it. Each time a unique violation refuses it (an id another
 * tenant committed meanwhile, two of its rows sharing an externalId), the held candidates are settled again inside
 * the transaction (`settleExternalIds`: the row that refused the write is visible now), the losers handed to `lost`
 * and the write run again. Each settle must find at least one more loser, else the violation is thrown: the held rows
 * only shrink, so this cannot loop. Shared by S1 1.1 and S4's delta sync.
 */
export async function writeSettlingRefusals<C extends Omit<SessionCandidate, 'raw'>>(tx: Tx, tenantId: string, given: RefusableWrite<C>): Promise<void> {
  for (let refused; (refused = await refusedWrite(tx, given.write));) {
    const held = given.held();
    if (!held) throw refused;
    const byLegacyId = new Map(held.map((c) => [c.legacyId, c]));
    const settled = await settleExternalIds(
      { tenantId, query: tx.query },
      held.map((c) => ({ id: c.id, legacyId: c.legacyId, raw: {} })),
    );
    // Nothing this transaction can see holds one of the ids: no clash a settle resolves.
    if (settled.rejects.length === 0) throw refused;
    await given.lost(
      settled.rejects.map((reject) => ({ candidate: byLegacyId.get(reject.legacyKey)!, reject })),
      settled.kept.map((k) => byLegacyId.get(k.legacyId)!),
    );
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
    await writeSettlingRefusals(tx, tenantId, {
      write: writeHeld,
      held: () => held,
      lost: async (losers, stay) => {
        const rows = await rawsOf!(losers.map((l) => l.candidate));
        rejects.push(...losers.map(({ candidate, reject }) => ({ ...reject, raw: rows.get(candidate.sourceRecord) ?? { id: reject.legacyKey } })));
        for (const { candidate } of losers) for (const code of candidate.warnings) warnings[code] = (warnings[code] ?? 0) - 1;
        held = stay;
      },
    });
    return addAdjustments(rejects.length > 0 ? { rejects, written: -rejects.length, warnings } : undefined, kept);
  };
  return { write, sent };
}
