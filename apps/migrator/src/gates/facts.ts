import type { Query } from '../engine/tx';
import { PHASE_STEP_IDS } from '../phases/step-ids';
import type { StepState, TenantGateFacts } from './rules';
import { latestValidation } from './validations';

interface CheckpointRow {
  phase: string;
  step_id: string;
  status: StepState['status'];
  error: string | null;
  facts: Record<string, unknown> | null;
}

const PHASES_THAT_INVALIDATE = ['s1', 's2', 's3', 's4'];

/** Every step of `phaseId` in plan order, with the status its checkpoint records (pending when none). */
function stepStates(phaseId: 's1' | 's2', rows: readonly CheckpointRow[]): StepState[] {
  return PHASE_STEP_IDS[phaseId].map((id) => {
    const row = rows.find((r) => r.phase === phaseId && r.step_id === id);
    return { id, status: row?.status ?? 'pending', error: row?.error ?? null };
  });
}

function decisionOf(rows: readonly CheckpointRow[]): TenantGateFacts['s2Decision'] {
  const run = rows.find((r) => r.phase === 's2' && r.step_id === '2.3')?.facts?.parallelRun as { decision?: string; reasons?: string[] } | undefined;
  if (run?.decision !== 'go' && run?.decision !== 'no_go') return undefined;
  return { decision: run.decision, reasons: run.reasons ?? [] };
}

/**
 * What the gates of `tenant` are judged on, from vc_migration: checkpoints of s1 and s2, S2's go/no-go,
 * the tenant's last real s1–s4 run (a run still going counts as ending now) and its latest validate. All
 * times are the database's, so machines with skewed clocks judge alike.
 */
export async function tenantGateFacts(query: Query, tenant: string): Promise<TenantGateFacts> {
  const rows = await query<CheckpointRow>(
    `select phase, step_id, status, error, facts from vc_migration.step_checkpoints where tenant_id = $1 and phase in ('s1', 's2')`,
    [tenant],
  );
  // Staleness is judged here, in the database. Times are stored to the millisecond (rounded), so a run
  // that ended in the validate's own millisecond cannot be told apart from one before it: it counts as
  // after (stale), since asking for one more validate is safe and cutting over unvalidated data is not.
  const [last] = await query<{ phase: string; ended_at: Date | string; after_validate: boolean | null }>(
    `select r.phase, coalesce(r.finished_at, now()) as ended_at,
            coalesce(r.finished_at, now()) >= (select max(v.started_at) from vc_migration.validations v where v.tenant_id = $1) as after_validate
       from vc_migration.runs r
      where r.tenant_id = $1 and r.phase = any($2::text[]) and not r.dry_run order by coalesce(r.finished_at, now()) desc limit 1`,
    [tenant, PHASES_THAT_INVALIDATE],
  );
  const validation = await latestValidation(query, tenant);
  const decision = decisionOf(rows);
  return {
    tenant,
    s1: stepStates('s1', rows),
    s2: stepStates('s2', rows),
    ...(decision ? { s2Decision: decision } : {}),
    ...(last ? { lastRunAt: new Date(last.ended_at), lastRunPhase: last.phase, lastRunAfterValidate: last.after_validate === true } : {}),
    ...(validation ? { validation } : {}),
  };
}
