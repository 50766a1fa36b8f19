import type { Database } from '@vc/schema';
import { listItems } from './item-state';
import { planStatusCounts } from './plan-store';
import { prerequisites } from './split';

/**
 * Per item of a plan: queued, running on which worker (host, pid, heartbeat age), done, failed with reason.
 * `migrator plan status` prints it; `migrator status` shows the summary of each plan through {@link planSummaries}.
 */
export interface PlanItemStatus {
  item: string;
  tenant: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  worker: string | null;
  heartbeatAgeS: number | null;
  attempts: number;
  completions: number;
  error: string | null;
  /** A queued item of a split tenant that cannot start yet: how many of the tenant's items it waits for. */
  waitingFor?: number;
}

export async function planItems(db: Database, planId: string): Promise<PlanItemStatus[]> {
  const rows = await listItems(db, planId);
  const byTenant = new Map<string, typeof rows>();
  for (const r of rows) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r]);
  return rows.map((r) => {
    const status = r.status as PlanItemStatus['status'];
    const waiting = status === 'queued' ? prerequisites(byTenant.get(r.tenantId)!, r.itemKey).pending.length : 0;
    return {
      ...(waiting > 0 ? { waitingFor: waiting } : {}),
      item: r.itemKey,
      tenant: r.tenantId,
      status,
      worker: status === 'running' && r.workerHost ? `${r.workerHost}:${r.workerPid}` : null,
      heartbeatAgeS: status === 'running' ? r.ageS : null,
      attempts: r.attempts,
      completions: r.completions,
      error: r.error,
    };
  });
}

export interface PlanSummary {
  plan: string;
  phase: string;
  createdAt: string;
  counts: Record<PlanItemStatus['status'], number>;
}

/** Every plan with its item counts by status, newest first. Empty when the plan tables do not exist yet. */
export async function planSummaries(db: Database): Promise<PlanSummary[]> {
  const rows = await planStatusCounts(db);
  const byPlan = new Map<string, PlanSummary>();
  for (const r of rows) {
    const s = byPlan.get(r.id) ?? {
      plan: r.id,
      phase: r.phase,
      createdAt: new Date(r.createdAt).toISOString(),
      counts: { queued: 0, running: 0, done: 0, failed: 0 },
    };
    if (r.status) s.counts[r.status as PlanItemStatus['status']] = r.n;
    byPlan.set(r.id, s);
  }
  return [...byPlan.values()];
}

export function planSummaryLines(plans: readonly PlanSummary[]): string[] {
  if (plans.length === 0) return [];
  return [
    '',
    'distributed plans (`migrator plan status <id>`):',
    ...plans.map((p) => `  ${p.plan}  ${p.phase}  queued ${p.counts.queued}, running ${p.counts.running}, done ${p.counts.done}, failed ${p.counts.failed}`),
  ];
}
