import { Option } from 'commander';
import type { Phase, RunOptions } from '../engine/types';
import { ExitError } from '../exit-error';

/** What `migrator phase` was given, as commander parsed it. */
export interface PhaseFlagValues {
  tenant?: string;
  allTenants?: boolean;
  [flag: string]: unknown;
}

/** The RunOptions key commander stores a flag under (`--report-dir <dir>` → `reportDir`). */
function keyOf(flags: string): string {
  return new Option(flags).attributeName();
}

/**
 * The usage checks of `migrator phase <id>` that need no database: the tenant selection, `--restart-step`
 * naming a step of the phase, the phase's own flags (`--window`, `--service-upstream`, …) and flags that
 * belong to an action (`--force` to `phase s4 decommission`). Each failure is exit 2 naming the flag and
 * the form expected.
 */
export function checkPhaseFlags(phase: Phase, action: string | undefined, raw: PhaseFlagValues, options?: RunOptions): void {
  if (phase.global && (raw.tenant || raw.allTenants))
    throw new ExitError(2, `phase ${phase.id} runs once for the whole platform: it takes no --tenant or --all-tenants`);
  if (!phase.global && action === undefined) {
    if (raw.tenant && raw.allTenants) throw new ExitError(2, 'give either --tenant <id> or --all-tenants, not both');
    if (!raw.tenant && !raw.allTenants) throw new ExitError(2, `phase ${phase.id} needs --tenant <id> or --all-tenants`);
  }
  const restart = options?.restartStep;
  if (restart !== undefined && !phase.steps.some((s) => s.id === restart)) {
    throw new ExitError(2, `--restart-step expects a step id of ${phase.id} (${phase.steps.map((s) => s.id).join(', ')}), got ${JSON.stringify(restart)}`);
  }
  for (const flag of phase.flags ?? []) {
    const value = raw[keyOf(flag.flags)];
    if (value === undefined) continue;
    if (flag.action !== undefined && flag.action !== action) {
      throw new ExitError(2, `${flag.flags.split(' ')[0]} is taken only by \`migrator phase ${phase.id} ${flag.action}\``);
    }
    if (flag.check && typeof value === 'string') {
      try {
        flag.check(value);
      } catch (error) {
        throw new ExitError(2, (error as Error).message, { cause: error });
      }
    }
  }
}
