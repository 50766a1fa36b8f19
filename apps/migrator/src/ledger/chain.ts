import type { RunLedgerRow } from '@vc/schema';
import { canonicalJson, sha256 } from './canonical';

/** The `prev_hash` of the first row: there is nothing before it. */
export const GENESIS = `sha256:${'0'.repeat(64)}`;

/** A ledger row as stored (`vc_migration.ledger`) and as the evidence pack carries it. */
export type LedgerRow = RunLedgerRow;

/** The hash a row must carry: over its position, its predecessor's hash, its tenants and its entry. */
export function rowHash(row: Pick<LedgerRow, 'seq' | 'prevHash' | 'entry' | 'tenants'>): string {
  return sha256(canonicalJson({ seq: row.seq, prevHash: row.prevHash, tenants: row.tenants, entry: row.entry }));
}

export type ChainVerdict =
  | { status: 'intact'; rows: number; tip: string }
  | { status: 'broken'; rows: number; seq: number; problem: 'edited' | 'missing_before' | 'relinked' | 'tip_gone'; message: string };

/**
 * Walks the rows in `seq` order (from the first, or from a known row when `after` is given): each row must
 * follow the previous one by seq, carry its hash as `prevHash`, and hash to its own `hash`. The first
 * break is named by seq; everything after it is unproven.
 */
export function verifyChain(rows: readonly LedgerRow[], after: { seq: number; hash: string } = { seq: 0, hash: GENESIS }): ChainVerdict {
  let previous = after;
  for (const row of rows) {
    if (row.seq !== previous.seq + 1) {
      return {
        status: 'broken',
        rows: rows.length,
        seq: row.seq,
        problem: 'missing_before',
        message: `ledger row ${row.seq}: rows ${previous.seq + 1}..${row.seq - 1} are missing (deleted)`,
      };
    }
    if (row.prevHash !== previous.hash) {
      return {
        status: 'broken',
        rows: rows.length,
        seq: row.seq,
        problem: 'relinked',
        message: `ledger row ${row.seq}: prev_hash does not match row ${previous.seq}'s hash (a row before it was edited or replaced)`,
      };
    }
    if (rowHash(row) !== row.hash) {
      return {
        status: 'broken',
        rows: rows.length,
        seq: row.seq,
        problem: 'edited',
        message: `ledger row ${row.seq}: its content no longer matches its hash (edited)`,
      };
    }
    previous = { seq: row.seq, hash: row.hash };
  }
  return { status: 'intact', rows: rows.length, tip: previous.hash };
}

/**
 * {@link verifyChain}, anchored at its end: `tip` — a hash `ledger verify` or an evidence pack printed
 * earlier and kept outside the database — must still be the hash of a row. The chain alone cannot tell
 * that its newest rows were deleted, or the last one edited and re-hashed: what is left still links up.
 */
export function verifyChainTo(rows: readonly LedgerRow[], tip: string): ChainVerdict {
  const verdict = verifyChain(rows);
  if (verdict.status !== 'intact' || rows.some((r) => r.hash === tip)) return verdict;
  const last = rows.at(-1)?.seq ?? 0;
  return {
    status: 'broken',
    rows: rows.length,
    seq: last,
    problem: 'tip_gone',
    message: `no ledger row has the expected tip ${tip} (the chain now ends at row ${last}): rows were deleted from its end, or the last one edited and re-hashed`,
  };
}
