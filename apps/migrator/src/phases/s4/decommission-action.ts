import { withCommandContext } from '../../commands/context';
import { ExitError } from '../../exit-error';
import { printJson, printText } from '../../output';
import { decommissionLegacy } from './decommission';

/**
 * `migrator phase s4 decommission --tenant X [--force --reason "…"] [--json]`: the plan's "decommission
 * legacy endpoints after stability confirmed", gated on the two-week window (see {@link decommissionLegacy}).
 */
export async function runPhaseAction(phaseId: string, action: string, raw: { tenant?: string; force?: boolean; reason?: string; json?: boolean }): Promise<void> {
  if (phaseId.toLowerCase() !== 's4' || action !== 'decommission') throw new ExitError(2, `unknown action "${action}" for phase ${phaseId} (only \`phase s4 decommission\` exists)`);
  if (!raw.tenant) throw new ExitError(2, 'phase s4 decommission needs --tenant <id>');
  const tenant = raw.tenant;
  const result = await withCommandContext(({ handle }) => decommissionLegacy(handle.db, { tenant, now: new Date(), force: raw.force === true, ...(raw.reason ? { reason: raw.reason } : {}) }));
  if (raw.json) printJson(result);
  else printText(`s4 decommission ${result.tenant}: ${result.status}${result.forced ? ' (forced, reason recorded)' : ''}; cut over ${result.cutoverAt}, stable from ${result.stableSince}`);
}
