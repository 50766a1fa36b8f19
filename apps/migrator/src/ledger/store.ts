import type { DatabaseHandle } from '@vc/schema';
import { queryOf, withTransaction } from '../engine/tx';
import { GENESIS, rowHash, type LedgerRow } from './chain';

/** One advisory lock for every ledger append (transaction-scoped): two runs at once still chain in order. */
const LEDGER_LOCK = `select pg_advisory_xact_lock(hashtext('vc_migration'), hashtext('ledger'))`;

interface StoredRow {
  seq: string | number;
  prev_hash: string;
  hash: string;
  entry: Record<string, unknown>;
  tenants: string[];
}

const toRow = (r: StoredRow): LedgerRow => ({ seq: Number(r.seq), prevHash: r.prev_hash, hash: r.hash, entry: r.entry, tenants: r.tenants });

/**
 * Appends one row after the current tip, under the ledger lock: reading the tip and inserting after it
 * happen in one transaction no other append can interleave with (the primary key on seq backs it up).
 */
export async function appendLedgerRow(handle: DatabaseHandle, entry: Record<string, unknown>, tenants: readonly string[]): Promise<LedgerRow> {
  return withTransaction(handle, async (tx) => {
    await tx.query(LEDGER_LOCK);
    const [tip] = await tx.query<StoredRow>('select seq, hash from vc_migration.ledger order by seq desc limit 1');
    const seq = tip ? Number(tip.seq) + 1 : 1;
    const prevHash = tip?.hash ?? GENESIS;
    const unsigned = { seq, prevHash, entry, tenants: [...tenants].sort() };
    const row = { ...unsigned, hash: rowHash(unsigned) };
    await tx.query('insert into vc_migration.ledger (seq, prev_hash, hash, entry, tenants) values ($1, $2, $3, $4, $5)', [
      row.seq,
      row.prevHash,
      row.hash,
      JSON.stringify(row.entry),
      row.tenants,
    ]);
    return row;
  });
}

/** Every row, in chain order. */
export async function readLedger(handle: DatabaseHandle): Promise<LedgerRow[]> {
  return (await queryOf(handle)<StoredRow>('select seq, prev_hash, hash, entry, tenants from vc_migration.ledger order by seq')).map(toRow);
}

/** The rows that name the tenant (or ran every tenant, `*`), in chain order. */
export async function tenantLedgerRows(handle: DatabaseHandle, tenantId: string): Promise<LedgerRow[]> {
  return (await readLedger(handle)).filter((r) => r.tenants.includes(tenantId) || r.tenants.includes('*'));
}
