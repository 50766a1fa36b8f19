import type { Query } from '../engine/tx';

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
}

interface ItemRow {
  item_key: string;
  tenant_id: string;
  status: PlanItemStatus['status'];
  worker_host: string | null;
  worker_pid: number | null;
  age_s: number | null;
  attempts: number;
  completions: number;
  error: string | null;
}

export async function planItems(query: Query, planId: string): Promise<PlanItemStatus[]> {
  const rows = await query<ItemRow>(
    `select item_key, tenant_id, status, worker_host, worker_pid, attempts, completions, error,
            case when heartbeat_at is null then null else round(extract(epoch from now() - heartbeat_at)::numeric, 1)::float8 end as age_s
     from vc_migration.plan_items where plan_id = $1 order by item_key`,
    [planId],
  );
  return rows.map((r) => ({
    item: r.item_key,
    tenant: r.tenant_id,
    status: r.status,
    worker: r.status === 'running' && r.worker_host ? `${r.worker_host}:${r.worker_pid}` : null,
    heartbeatAgeS: r.status === 'running' ? r.age_s : null,
    attempts: r.attempts,
    completions: r.completions,
    error: r.error,
  }));
}

export interface PlanSummary {
  plan: string;
  phase: string;
  createdAt: string;
  counts: Record<PlanItemStatus['status'], number>;
}

/** Every plan with its item counts by status, newest first. Empty when the plan tables do not exist yet. */
export async function planSummaries(query: Query): Promise<PlanSummary[]> {
  const [exists] = await query<{ ok: boolean }>(`select to_regclass('vc_migration.plans') is not null as ok`);
  if (!exists?.ok) return [];
  const rows = await query<{ id: string; phase: string; created_at: Date | string; status: PlanItemStatus['status'] | null; n: number }>(
    `select p.id, p.phase, p.created_at, i.status, count(i.*)::int as n from vc_migration.plans p left join vc_migration.plan_items i on i.plan_id = p.id
     group by p.id, p.phase, p.created_at, i.status order by p.created_at desc, p.id`,
  );
  const byPlan = new Map<string, PlanSummary>();
  for (const r of rows) {
    const s = byPlan.get(r.id) ?? {
      plan: r.id,
      phase: r.phase,
      createdAt: new Date(r.created_at).toISOString(),
      counts: { queued: 0, running: 0, done: 0, failed: 0 },
    };
    if (r.status) s.counts[r.status] = r.n;
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
