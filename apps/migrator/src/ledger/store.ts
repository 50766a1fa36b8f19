import { runLedger, type Database, type DatabaseHandle } from '@vc/schema';
import { asc, desc, sql } from 'drizzle-orm';
import { withTransaction } from '../engine/tx';
import { GENESIS, rowHash, type LedgerRow } from './chain';

/** `vc_migration.ledger`: the hash-chained run ledger, appended and never updated. */

/** One advisory lock for every ledger append (transaction-scoped): two runs at once still chain in order. */
const LEDGER_LOCK = sql`select pg_advisory_xact_lock(hashtext('vc_migration'), hashtext('ledger'))`;

/**
 * Appends one row after the current tip, under the ledger lock: reading the tip and inserting after it
 * happen in one transaction no other append can interleave with (the primary key on seq backs it up).
 */
export async function appendLedgerRow(handle: DatabaseHandle, entry: Record<string, unknown>, tenants: readonly string[]): Promise<LedgerRow> {
  return withTransaction(handle, async (tx) => {
    await tx.db.execute(LEDGER_LOCK);
    const [tip] = await tx.db.select({ seq: runLedger.seq, hash: runLedger.hash }).from(runLedger).orderBy(desc(runLedger.seq)).limit(1);
    const seq = tip ? Number(tip.seq) + 1 : 1;
    const prevHash = tip?.hash ?? GENESIS;
    const unsigned = { seq, prevHash, entry, tenants: [...tenants].sort() };
    const row = { ...unsigned, hash: rowHash(unsigned) };
    await tx.db.insert(runLedger).values(row);
    return row;
  });
}

/** Every row, in chain order. */
export async function readLedger(db: Database): Promise<LedgerRow[]> {
  return db.select().from(runLedger).orderBy(asc(runLedger.seq));
}

/** The rows that name the tenant (or ran every tenant, `*`), in chain order. */
export async function tenantLedgerRows(db: Database, tenantId: string): Promise<LedgerRow[]> {
  return (await readLedger(db)).filter((r) => r.tenants.includes(tenantId) || r.tenants.includes('*'));
}
