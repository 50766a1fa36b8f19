import type { PhaseId } from '../engine/types';

/**
 * The phase pipeline an operator cannot skip by accident: s2 and s3 need s1 done, and s3 no cutover in force;
 * s4 needs s2's GO and a passing `migrator validate` that started after the tenant's last s1–s4 run. Values
 * in, values out: {@link ./facts} reads what these rules judge.
 */
export type GateId = 's1-done' | 's2-go' | 'validate-pass' | 'validate-fresh' | 'not-cut-over';

/** One gate a tenant does not pass: which, why, and the command that clears it. */
export interface GateFailure {
  tenant: string;
  gate: GateId;
  /** What is missing, naming the step or check (never PHI). */
  why: string;
  /** The command that clears the gate, as an operator types it. */
  clear: string;
}

/** Where one step of a phase stands, as its checkpoint says. */
export interface StepState {
  id: string;
  status: 'pending' | 'running' | 'done' | 'failed';
  error?: string | null;
}

/** What the gates of one tenant are judged on. */
export interface TenantGateFacts {
  tenant: string;
  /** Every step of s1 and s2 in plan order (pending where nothing ran). */
  s1: readonly StepState[];
  s2: readonly StepState[];
  /** S2 2.3's go/no-go as recorded in its facts, when it compared. */
  s2Decision?: { decision: 'go' | 'no_go'; reasons: readonly string[] };
  /** When the tenant's last real s1–s4 run ended (or now, while one runs); undefined when none ran. */
  lastRunAt?: Date;
  lastRunPhase?: string;
  /** Whether that run ended after the latest validate started, compared at the database's precision. */
  lastRunAfterValidate?: boolean;
  /** The tenant's latest validate. */
  validation?: { status: 'pass' | 'fail'; startedAt: Date; failedChecks: readonly string[] };
  /** When the cutover in force for the tenant (S4 4.2, not rolled back) was recorded; undefined when none is. */
  cutOverAt?: Date;
}

const cmd = (text: string) => `pnpm migrator ${text}`;

function stepSummary(phase: string, steps: readonly StepState[]): string | undefined {
  const open = steps.find((s) => s.status !== 'done');
  if (!open) return undefined;
  if (open.status === 'failed') return `${phase} ${open.id} failed${open.error ? `: ${open.error}` : ''}`;
  if (open.status === 'running') return `${phase} ${open.id} has not finished (running or interrupted)`;
  return steps.every((s) => s.status === 'pending') ? `${phase} has not run` : `${phase} ${open.id} has not run yet`;
}

function s1Done(facts: TenantGateFacts): GateFailure[] {
  const why = stepSummary('s1', facts.s1);
  return why ? [{ tenant: facts.tenant, gate: 's1-done', why, clear: cmd(`phase s1 --tenant ${facts.tenant}`) }] : [];
}

function s2Go(facts: TenantGateFacts): GateFailure[] {
  const clear = cmd(`phase s2 --tenant ${facts.tenant}`);
  if (facts.s2Decision?.decision === 'no_go') {
    return [{ tenant: facts.tenant, gate: 's2-go', why: `s2 2.3 parallel run is NO-GO (${facts.s2Decision.reasons.join('; ') || 'see its report'})`, clear }];
  }
  const why = stepSummary('s2', facts.s2);
  return why ? [{ tenant: facts.tenant, gate: 's2-go', why: `s2 is not GO: ${why}`, clear }] : [];
}

function validated(facts: TenantGateFacts): GateFailure[] {
  const clear = cmd(`validate --tenant ${facts.tenant}`);
  const v = facts.validation;
  if (!v) return [{ tenant: facts.tenant, gate: 'validate-pass', why: 'no `migrator validate` recorded for the tenant', clear }];
  if (v.status !== 'pass')
    return [
      {
        tenant: facts.tenant,
        gate: 'validate-pass',
        why: `the last validate (${v.startedAt.toISOString()}) failed: ${v.failedChecks.join(', ') || 'see its report'}`,
        clear,
      },
    ];
  if (facts.lastRunAt && (facts.lastRunAfterValidate ?? v.startedAt.getTime() < facts.lastRunAt.getTime())) {
    return [
      {
        tenant: facts.tenant,
        gate: 'validate-fresh',
        why: `the last passing validate (${v.startedAt.toISOString()}) is older than the tenant's last ${facts.lastRunPhase ?? 'phase'} run (${facts.lastRunAt.toISOString()})`,
        clear,
      },
    ];
  }
  return [];
}

/**
 * S3 re-reads legacy's consents and imports them again (so a re-run before the cutover carries what legacy changed
 * since). Once the tenant is cut over, access-policy holds the consents patients give or revoke through the new
 * service, and legacy's older answer would overwrite them: a revoked consent permitted again.
 */
function notCutOver(facts: TenantGateFacts): GateFailure[] {
  if (!facts.cutOverAt) return [];
  return [
    {
      tenant: facts.tenant,
      gate: 'not-cut-over',
      why: `the tenant was cut over at ${facts.cutOverAt.toISOString()}: access-policy now holds the consents given or revoked since, which legacy's would overwrite`,
      clear: cmd(`rollback s4 --tenant ${facts.tenant}`),
    },
  ];
}

const GATES: Readonly<Record<PhaseId, ReadonlyArray<(facts: TenantGateFacts) => GateFailure[]>>> = {
  s0: [],
  s1: [],
  s2: [s1Done],
  s3: [s1Done, notCutOver],
  s4: [s2Go, validated],
};

/** The gates `phase` has for the tenant that it does not pass (empty: it may run). */
export function gateFailures(phase: PhaseId, facts: TenantGateFacts): GateFailure[] {
  return GATES[phase].flatMap((gate) => gate(facts));
}

/** Whether the phase has any gate at all (s0 and s1 have none). */
export function isGated(phase: PhaseId): boolean {
  return GATES[phase].length > 0;
}

/** One line per failure: `globex: gate s2-go — s2 2.2 failed: … (clear: pnpm migrator phase s2 --tenant globex)`. */
export function describeFailures(failures: readonly GateFailure[]): string {
  return failures.map((f) => `  ${f.tenant}: gate ${f.gate} — ${f.why} (clear: ${f.clear})`).join('\n');
}
