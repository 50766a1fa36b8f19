import { withCommandContext } from '../../commands/context';
import { UsageError } from '../../engine/errors';
import { stopOnSignals } from '../../engine/stop-signals';
import type { PhaseActionFlags } from '../../engine/types';
import { printJson, printText } from '../../output';
import { decommissionLegacy } from './decommission';

/**
 * `migrator phase s4 decommission --tenant X [--force --reason "…"] [--dry-run] [--json]`: the plan's
 * "decommission legacy endpoints after stability confirmed", gated on the two-week window and on the
 * cut-over routing being in force (see {@link decommissionLegacy}). `--dry-run` prints `would_decommission`
 * or the refusal, with the exit code of the real run, and records nothing.
 */
export async function runDecommission(raw: PhaseActionFlags): Promise<void> {
  if (!raw.tenant) throw new UsageError('phase s4 decommission needs --tenant <id>');
  const input = { tenant: raw.tenant, now: new Date(), force: raw.force === true, dryRun: raw.dryRun === true, ...(raw.reason ? { reason: raw.reason } : {}) };
  const stop = stopOnSignals(process.env, 'stopping before the decommission is recorded (one that is being recorded completes)');
  const result = await withCommandContext(async ({ handle, services }) => decommissionLegacy(handle.db, await services.kong(), input, stop.signal)).finally(
    () => stop.dispose(),
  );
  if (raw.json) printJson(result);
  else
    printText(
      `s4 decommission ${result.tenant}: ${result.status}${result.forced ? ` (forced${input.dryRun ? '' : ', reason recorded'})` : ''}; cut over ${result.cutoverAt}, stable from ${result.stableSince}`,
    );
}
