import type { Database } from '@vc/schema';
import type { PhaseId } from '../engine/types';
import { UsageError } from '../engine/errors';
import { noteGateOverrides } from '../ledger/invocation';
import { cutoversInForce } from '../phases/s4/cutover-records';
import { tenantGateFacts } from './facts';
import type { GateOverride } from './override';
import { describeFailures, gateFailures, isGated, type GateFailure } from './rules';

/**
 * What a gateway-wide routing change does to the tenants it moves but does not run: each of their own S4
 * gate failures, said as the reason the change is refused.
 */
export async function gatewayFailures(db: Database, moving: readonly string[], running: readonly string[]): Promise<GateFailure[]> {
  const others = moving.filter((t) => !running.includes(t));
  const failures: GateFailure[] = [];
  for (const tenant of others) {
    for (const f of gateFailures('s4', await tenantGateFacts(db, tenant))) {
      failures.push({ ...f, why: `its traffic moves too (Kong routing is gateway-wide: ${moving.join(', ')}); ${f.why}` });
    }
  }
  return failures;
}

/**
 * Refuses (exit 2) when any gate fails, naming each tenant, gate and the command that clears it; with an
 * override, notes each failure in this invocation's ledger row and says so on stderr. Returns what was overridden.
 */
export function settleGates(what: string, phase: PhaseId, failures: readonly GateFailure[], override: GateOverride | undefined, dryRun = false): GateFailure[] {
  if (failures.length === 0) return [];
  if (!override) {
    throw new UsageError(
      `${what} refused by its gates:\n${describeFailures(failures)}\nclear each gate with the command given, or override with --force --reason "<why>" (recorded in the run ledger)`,
    );
  }
  noteGateOverrides(failures.map((f) => ({ phase, tenant: f.tenant, gate: f.gate, why: f.why, reason: override.reason })));
  process.stderr.write(
    `gates overridden by --force (reason: ${JSON.stringify(override.reason)}; ${dryRun ? 'dry run: nothing recorded' : 'recorded in the run ledger'}):\n${describeFailures(failures)}\n`,
  );
  return [...failures];
}

export interface PhaseGateInput {
  db: Database;
  phase: PhaseId;
  tenants: readonly string[];
  override: GateOverride | undefined;
  /** Every tenant legacy knows: S4's first cutover moves all of their traffic. Read only for s4. */
  knownTenants: () => Promise<readonly string[]>;
  /** Names the command in the refusal, e.g. `phase s4` or `enqueue phase s3`. */
  command: string;
  /** A dry run is refused like the real run; an override of it records nothing. */
  dryRun?: boolean;
}

/**
 * The gates of a phase for the tenants it is about to run, checked before anything is written; `--all-tenants`
 * is refused as a whole when any tenant fails. For s4 while no cutover is in force, the first cutover switches
 * the gateway for every tenant, so every tenant legacy knows must pass its S4 gate too.
 */
export async function enforcePhaseGates(input: PhaseGateInput): Promise<GateFailure[]> {
  const { db, phase, tenants } = input;
  if (!isGated(phase)) return [];
  const failures: GateFailure[] = [];
  for (const tenant of tenants) failures.push(...gateFailures(phase, await tenantGateFacts(db, tenant)));
  if (phase === 's4' && (await cutoversInForce(db)).length === 0) failures.push(...(await gatewayFailures(db, await input.knownTenants(), tenants)));
  return settleGates(input.command, phase, failures, input.override, input.dryRun);
}
