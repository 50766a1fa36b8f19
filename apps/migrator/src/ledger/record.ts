import { loadConfig } from '../config';
import { currentInvocation, invocationToStart, ledgerEntry } from './invocation';

/**
 * Appends the ledger row of this invocation, if it wrote (bin.ts, once the exit status is known). Opens the
 * target itself, so every command is covered however it opened it. A target that cannot be opened, or has no
 * ledger table yet (before `phase s0`), is said on stderr; a row that could not be written fails the run
 * (exit 1): an unrecorded write is what the ledger exists to prevent.
 */
export async function recordInvocation(exitCode: number): Promise<number> {
  const invocation = currentInvocation();
  if (!invocation) return exitCode;
  // Loaded only when a command wrote: `--help`, `--version` and reads start without the database drivers.
  const [{ PG_ERROR, pgErrorCode }, { openTarget }, { appendLedgerRow }] = await Promise.all([
    import('@vc/schema'),
    import('../commands/target'),
    import('./store'),
  ]);
  let config;
  try {
    config = loadConfig(process.env);
  } catch {
    return exitCode;
  }
  // Only the end row from here: a command that never got the target open started nothing to pair with.
  invocationToStart();
  let handle;
  try {
    handle = await openTarget(config);
  } catch (error) {
    process.stderr.write(`migrator: ledger row not written: the target could not be opened (${(error as Error).message})\n`);
    return exitCode === 0 ? 1 : exitCode;
  }
  try {
    const row = await appendLedgerRow(handle, ledgerEntry(invocation, config, exitCode), invocation.tenants);
    process.stderr.write(`ledger: row ${row.seq} recorded (${invocation.command}, exit ${exitCode})\n`);
    return exitCode;
  } catch (error) {
    if (pgErrorCode(error) === PG_ERROR.undefinedTable) {
      // Before `phase s0` applied the migrations there is no ledger yet (nor anything to have written).
      process.stderr.write('ledger: no ledger table yet (run `migrator phase s0`); this invocation is not recorded\n');
      return exitCode;
    }
    process.stderr.write(`migrator: ledger row not written (${(error as Error).message})\n`);
    return exitCode === 0 ? 1 : exitCode;
  } finally {
    await handle.close();
  }
}
