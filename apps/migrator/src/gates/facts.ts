import type { Database } from '@vc/schema';
import { checkpointStates } from '../engine/store/checkpoints';
import { lastRealRun } from '../engine/store/runs';
import type { PhaseId } from '../engine/types';
import { activeCutover } from '../phases/s4/cutover-records';
import { cutoverHistory } from '../phases/s4/cutover-store';
import { PHASE_STEP_IDS } from '../phases/step-ids';
import type { StepState, TenantGateFacts } from './rules';
import { latestValidation } from './validations';

type CheckpointRow = Awaited<ReturnType<typeof checkpointStates>>[number];

const PHASES_THAT_INVALIDATE: readonly PhaseId[] = ['s1', 's2', 's3', 's4'];

/** Every step of `phaseId` in plan order, with the status its checkpoint records (pending when none). */
function stepStates(phaseId: 's1' | 's2', rows: readonly CheckpointRow[]): StepState[] {
  return PHASE_STEP_IDS[phaseId].map((id) => {
    const row = rows.find((r) => r.phase === phaseId && r.stepId === id);
    return { id, status: row?.status ?? 'pending', error: row?.error ?? null };
  });
}

function decisionOf(rows: readonly CheckpointRow[]): TenantGateFacts['s2Decision'] {
  const run = rows.find((r) => r.phase === 's2' && r.stepId === '2.3')?.facts?.parallelRun as { decision?: string; reasons?: string[] } | undefined;
  if (run?.decision !== 'go' && run?.decision !== 'no_go') return undefined;
  return { decision: run.decision, reasons: run.reasons ?? [] };
}

/**
 * What the gates of `tenant` are judged on, from vc_migration: checkpoints of s1 and s2, S2's go/no-go,
 * the tenant's last real s1–s4 run (a run still going counts as ending now), its latest validate and the cutover
 * in force, if any. All
 * times are the database's, so machines with skewed clocks judge alike.
 */
export async function tenantGateFacts(db: Database, tenant: string): Promise<TenantGateFacts> {
  const rows = await checkpointStates(db, tenant, ['s1', 's2']);
  // Staleness is judged in the database (lastRealRun). Times are stored to the millisecond (rounded), so a run
  // that ended in the validate's own millisecond cannot be told apart from one before it: it counts as
  // after (stale), since asking for one more validate is safe and cutting over unvalidated data is not.
  const last = await lastRealRun(db, tenant, PHASES_THAT_INVALIDATE);
  const validation = await latestValidation(db, tenant);
  const decision = decisionOf(rows);
  const cutover = activeCutover(await cutoverHistory(db, tenant));
  return {
    tenant,
    s1: stepStates('s1', rows),
    s2: stepStates('s2', rows),
    ...(decision ? { s2Decision: decision } : {}),
    ...(last ? { lastRunAt: new Date(last.endedAt), lastRunPhase: last.phase, lastRunAfterValidate: last.afterValidate === true } : {}),
    ...(validation ? { validation } : {}),
    ...(cutover ? { cutOverAt: cutover.createdAt } : {}),
  };
}
