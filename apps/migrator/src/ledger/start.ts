import { PG_ERROR, pgErrorCode, type DatabaseHandle } from '@vc/schema';
import type { MigratorConfig } from '../config';
import { invocationToStart, ledgerStartEntry } from './invocation';
import { appendLedgerRow } from './store';

/** No database, or no ledger table in it, yet: what `phase s0` is about to create. */
const NOT_MADE_YET = new Set<string>([PG_ERROR.invalidCatalogName, PG_ERROR.undefinedTable]);

/**
 * Appends the `start` row of a writing invocation as it opens the target, before anything is written
 * (commands/target.ts), so a run killed outright still leaves a trace: a start row no end row names.
 * Tried once per invocation. Before `phase s0` made the database and the table there is nothing to record yet (the end
 * row is then the only one, as before); any other failure stops the command: it must not write unrecorded.
 */
export async function recordStart(handle: DatabaseHandle, config: MigratorConfig): Promise<void> {
  const invocation = invocationToStart();
  if (!invocation) return;
  try {
    const row = await appendLedgerRow(handle, ledgerStartEntry(invocation, config), invocation.tenants);
    invocation.startRow = { seq: row.seq, hash: row.hash };
  } catch (error) {
    if (NOT_MADE_YET.has(pgErrorCode(error) ?? '')) return;
    throw new Error(`ledger start row not written, so nothing was run (${(error as Error).message})`, { cause: error });
  }
}
