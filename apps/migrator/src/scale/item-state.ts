import type { Query } from '../engine/tx';

/**
 * Item state transitions in `vc_migration.plan_items`, one function each. A worker writes them; `plan
 * status` reads them. `done` is final: no transition leaves it, so a late duplicate delivery cannot undo it.
 */
export interface Worker {
  host: string;
  pid: number;
}

export async function unpublished(query: Query, planId: string): Promise<Array<{ item_key: string; tenant_id: string; subject: string; msg_id: string }>> {
  return query(
    `select item_key, tenant_id, subject, msg_id from vc_migration.plan_items where plan_id = $1 and published_at is null and status <> 'done' order by item_key`,
    [planId],
  );
}

export async function markPublished(query: Query, planId: string, itemKey: string): Promise<void> {
  await query('update vc_migration.plan_items set published_at = now() where plan_id = $1 and item_key = $2', [planId, itemKey]);
}

export async function itemStatus(query: Query, planId: string, itemKey: string): Promise<string | undefined> {
  const [row] = await query<{ status: string }>('select status from vc_migration.plan_items where plan_id = $1 and item_key = $2', [planId, itemKey]);
  return row?.status;
}

export async function markRunning(query: Query, planId: string, itemKey: string, worker: Worker): Promise<void> {
  await query(
    `update vc_migration.plan_items set status = 'running', worker_host = $3, worker_pid = $4, heartbeat_at = now(), started_at = coalesce(started_at, now())
     where plan_id = $1 and item_key = $2 and status <> 'done'`,
    [planId, itemKey, worker.host, worker.pid],
  );
}

/** Puts back who was running the item (the lock refusal of a redelivery: the earlier worker still has it). */
export async function restoreRunner(query: Query, planId: string, itemKey: string, previous: Worker | undefined): Promise<void> {
  await query(`update vc_migration.plan_items set worker_host = $3, worker_pid = $4 where plan_id = $1 and item_key = $2 and status = 'running'`, [
    planId,
    itemKey,
    previous?.host ?? null,
    previous?.pid ?? null,
  ]);
}

export async function runnerOf(query: Query, planId: string, itemKey: string): Promise<Worker | undefined> {
  const [row] = await query<{ worker_host: string | null; worker_pid: number | null }>(
    'select worker_host, worker_pid from vc_migration.plan_items where plan_id = $1 and item_key = $2',
    [planId, itemKey],
  );
  return row?.worker_host ? { host: row.worker_host, pid: row.worker_pid ?? 0 } : undefined;
}

export async function heartbeat(query: Query, planId: string, itemKey: string, worker: Worker): Promise<void> {
  await query(
    `update vc_migration.plan_items set heartbeat_at = now() where plan_id = $1 and item_key = $2 and worker_host = $3 and worker_pid = $4 and status = 'running'`,
    [planId, itemKey, worker.host, worker.pid],
  );
}

export async function markDone(query: Query, planId: string, itemKey: string): Promise<void> {
  await query(
    `update vc_migration.plan_items set status = 'done', error = null, finished_at = now(), completions = completions + 1 where plan_id = $1 and item_key = $2 and status <> 'done'`,
    [planId, itemKey],
  );
}

/** Back to queued (drained, or a retryable failure); `error` is kept for `plan status`. */
export async function markQueued(query: Query, planId: string, itemKey: string, worker: Worker, error?: string, failedAttempt = false): Promise<void> {
  await query(
    `update vc_migration.plan_items set status = 'queued', worker_host = null, worker_pid = null, error = coalesce($5, error), attempts = attempts + $6
     where plan_id = $1 and item_key = $2 and status = 'running' and worker_host = $3 and worker_pid = $4`,
    [planId, itemKey, worker.host, worker.pid, error ?? null, failedAttempt ? 1 : 0],
  );
}

/** Past the max attempts: failed for good (the message is terminated). */
export async function markFailed(query: Query, planId: string, itemKey: string, error: string): Promise<void> {
  await query(
    `update vc_migration.plan_items set status = 'failed', error = $3, attempts = attempts + 1, finished_at = now() where plan_id = $1 and item_key = $2 and status <> 'done'`,
    [planId, itemKey, error],
  );
}

export async function attemptsOf(query: Query, planId: string, itemKey: string): Promise<number> {
  const [row] = await query<{ attempts: number }>('select attempts from vc_migration.plan_items where plan_id = $1 and item_key = $2', [planId, itemKey]);
  return row?.attempts ?? 0;
}
