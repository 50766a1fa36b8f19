import type { PhaseId } from '../engine/types';
import { gateFailures, type GateFailure, type TenantGateFacts } from '../gates/rules';
import { describeRun, type Liveness } from './status-liveness';

/** One step as `status` shows it: its checkpoint's status, or what a `running` one really is. */
export interface ShownStep {
  tenant: string;
  phase: PhaseId;
  step: string;
  status: 'pending' | 'running' | 'stale' | 'interrupted' | 'done' | 'failed';
  error?: string;
  run?: Liveness;
}

/** Where a tenant stands in the pipeline, in one line. */
export interface TenantRollup {
  tenant: string;
  state: 'done' | 'running' | 'stale' | 'interrupted' | 'blocked' | 'gated' | 'ready';
  phase?: PhaseId;
  step?: string;
  line: string;
  gates?: GateFailure[];
}

const resume = (phase: string, tenant: string) => `run \`pnpm migrator phase ${phase} --tenant ${tenant}\` to resume`;

/**
 * A tenant's rollup from its steps in plan order (s1–s4) and its gate facts: a step running (or stale) first,
 * else the first step not done — failed (blocked), left mid-phase (interrupted), or the next phase, which
 * its gates let run (ready) or not (gated, saying which gate and what clears it).
 */
export function rollupOf(tenant: string, steps: readonly ShownStep[], facts: TenantGateFacts): TenantRollup {
  const active = steps.find((s) => s.status === 'running') ?? steps.find((s) => s.status === 'stale');
  if (active?.run) {
    const at = { phase: active.phase, step: active.step };
    if (active.status === 'running')
      return { tenant, state: 'running', ...at, line: `${tenant}: running ${active.phase} ${active.step} (${describeRun(active.run)})` };
    return {
      tenant,
      state: 'stale',
      ...at,
      line: `${tenant}: stale at ${active.phase} ${active.step} — ${active.run.why} (${describeRun(active.run)}); ${resume(active.phase, tenant)}`,
    };
  }
  const open = steps.find((s) => s.status !== 'done');
  if (!open) return { tenant, state: 'done', line: `${tenant}: done (s1–s4; cut over)` };
  const at = { phase: open.phase, step: open.step };
  if (open.status === 'failed')
    return { tenant, state: 'blocked', ...at, line: `${tenant}: blocked at ${open.phase} ${open.step} — ${open.error ?? 'failed'}` };
  const phaseSteps = steps.filter((s) => s.phase === open.phase);
  if (open.status === 'interrupted' || phaseSteps.some((s) => s.status !== 'pending')) {
    return { tenant, state: 'interrupted', ...at, line: `${tenant}: interrupted at ${open.phase} ${open.step}; ${resume(open.phase, tenant)}` };
  }
  const gates = gateFailures(open.phase, facts);
  if (gates.length) {
    return {
      tenant,
      state: 'gated',
      phase: open.phase,
      gates,
      line: `${tenant}: waiting for ${open.phase} — ${gates.map((g) => `gate ${g.gate}: ${g.why} (clear: ${g.clear})`).join('; ')}`,
    };
  }
  return { tenant, state: 'ready', phase: open.phase, line: `${tenant}: ready for ${open.phase} (\`pnpm migrator phase ${open.phase} --tenant ${tenant}\`)` };
}

/** A step's facts as text lines: a Kong plan as its diff, the rest as `key value` pairs. */
export function factLines(facts: Readonly<Record<string, unknown>>): string[] {
  const lines: string[] = [];
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(facts)) {
    // An empty list (no samples, no failing checks) says nothing a reader needs.
    if ((Array.isArray(value) && value.length === 0) || (value !== null && typeof value === 'object' && Object.keys(value).length === 0)) continue;
    if (key === 'kongPlan' && Array.isArray(value)) lines.push('Kong plan:', ...value.map((l) => `  ${String(l)}`));
    else if (value !== null && typeof value === 'object') pairs.push(`${key} ${JSON.stringify(value)}`);
    else pairs.push(`${key} ${String(value)}`);
  }
  return [...(pairs.length ? [pairs.join(', ')] : []), ...lines];
}
