import type { DatabaseHandle } from '@vc/schema';
import type { Tx } from './types';

/**
 * A dry run is the real run rehearsed: every step's real code, against a handle bound to ONE
 * transaction that is rolled back at the end (docs/design.md §6), so what it reports is what a run would
 * do — later steps see what earlier ones wrote — and nothing of it stays. Outside systems are replaced by
 * recorders (engine/recorders.ts). `withTransaction` and `queryOf` recognise a bound handle: a batch
 * becomes a savepoint of the rehearsal's transaction, a query runs inside it.
 */
const bound = new WeakMap<DatabaseHandle, Tx>();

/** The transaction a handle is bound to, when it is a rehearsal's. */
export function rehearsalTx(handle: DatabaseHandle): Tx | undefined {
  return bound.get(handle);
}

class RolledBack<T> {
  constructor(readonly value: T) {}
}

/**
 * Runs `fn` with a handle whose every query and transaction happen inside one transaction, then rolls
 * it back, whatever `fn` did, and returns what `fn` returned (or rethrows what it threw).
 */
export async function rehearse<T>(
  handle: DatabaseHandle,
  withTransaction: (handle: DatabaseHandle, fn: (tx: Tx) => Promise<never>) => Promise<never>,
  fn: (rehearsal: DatabaseHandle) => Promise<T>,
): Promise<T> {
  try {
    await withTransaction(handle, async (tx) => {
      // No pool and no PGlite instance: a rehearsal must not reach the database around its transaction.
      const rehearsal: DatabaseHandle = { kind: handle.kind, db: tx.db, close: async () => undefined };
      bound.set(rehearsal, tx);
      throw new RolledBack(await fn(rehearsal));
    });
  } catch (error) {
    if (error instanceof RolledBack) return error.value as T;
    throw error;
  }
  throw new Error('unreachable: a rehearsal always rolls back');
}

let savepoints = 0;

/** A batch inside a rehearsal: a savepoint, so a failed batch undoes only itself, as its own transaction would. */
export async function inSavepoint<T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const name = `vc_rehearsal_${++savepoints}`;
  await tx.query(`savepoint ${name}`);
  try {
    const result = await fn(tx);
    await tx.query(`release savepoint ${name}`);
    return result;
  } catch (error) {
    await tx.query(`rollback to savepoint ${name}`).catch(() => undefined);
    throw error;
  }
}
