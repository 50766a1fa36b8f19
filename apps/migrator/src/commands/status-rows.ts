import { EMPTY_CHECKPOINT, type SavedCheckpoint, type StepKey } from '../engine/state';
import type { Phase } from '../engine/types';

/** A checkpoint as status lists it; `runId` is the run that last touched it (none for a pending step). */
export type StatusRow = SavedCheckpoint & StepKey & { runId?: string | null };

/**
 * Every step of every phase for each tenant the migration knows (any checkpoint, and `alsoTenants`: legacy's
 * tenants that have not started), in plan order, with `pending` where nothing ran yet: an operator reads what
 * is left, not only what happened. Global phases (s0) show once, as tenant `*`. Checkpoints of steps no phase
 * declares any more are kept at the end.
 */
export function withPendingSteps(rows: readonly StatusRow[], phases: readonly Phase[], onlyTenant?: string, alsoTenants: readonly string[] = []): StatusRow[] {
  const saved = new Map(rows.map((r) => [`${r.tenantId}\u0000${r.phase}\u0000${r.stepId}`, r]));
  const tenants = [...new Set([...rows.map((r) => r.tenantId), ...alsoTenants].filter((t) => t !== '*'))].sort();
  if (onlyTenant !== undefined && !tenants.includes(onlyTenant) && onlyTenant !== '*') tenants.push(onlyTenant);
  const out: StatusRow[] = [];
  const emit = (tenantId: string, phase: Phase) => {
    for (const step of phase.steps) {
      const key = `${tenantId}\u0000${phase.id}\u0000${step.id}`;
      out.push(saved.get(key) ?? { ...EMPTY_CHECKPOINT, tenantId, phase: phase.id, stepId: step.id });
      saved.delete(key);
    }
  };
  if (onlyTenant === undefined) for (const phase of phases.filter((p) => p.global)) emit('*', phase);
  for (const tenantId of tenants) for (const phase of phases.filter((p) => !p.global)) emit(tenantId, phase);
  return [...out, ...saved.values()];
}
