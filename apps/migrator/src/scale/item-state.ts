import { migrationPlanItems, queryRows, type Database } from '@vc/schema';
import { and, asc, eq, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import { secondsSince } from '../engine/store/columns';

/**
 * `vc_migration.plan_items`: item state transitions, one function each. A worker writes them; `plan
 * status` reads them. `done` is final: no transition leaves it, so a late duplicate delivery cannot undo it.
 */
export interface Worker {
  host: string;
  pid: number;
}

type PlanItemRow = typeof migrationPlanItems.$inferSelect;

const t = migrationPlanItems;
const itemIs = (planId: string, itemKey: string) => and(eq(t.planId, planId), eq(t.itemKey, itemKey));

/** Stores the items of a plan unless already there. */
export async function insertItems(
  db: Database,
  planId: string,
  items: ReadonlyArray<Pick<PlanItemRow, 'itemKey' | 'tenantId' | 'subject' | 'msgId'> & { keyRange?: object }>,
): Promise<void> {
  for (const item of items) {
    await db
      .insert(t)
      .values({
        planId,
        itemKey: item.itemKey,
        tenantId: item.tenantId,
        subject: item.subject,
        msgId: item.msgId,
        keyRange: (item.keyRange as Record<string, unknown> | undefined) ?? null,
      })
      .onConflictDoNothing({ target: [t.planId, t.itemKey] });
  }
}

export async function unpublished(db: Database, planId: string): Promise<Array<Pick<PlanItemRow, 'itemKey' | 'tenantId' | 'subject' | 'msgId'>>> {
  return db
    .select({ itemKey: t.itemKey, tenantId: t.tenantId, subject: t.subject, msgId: t.msgId })
    .from(t)
    .where(and(eq(t.planId, planId), isNull(t.publishedAt), ne(t.status, 'done')))
    .orderBy(asc(t.itemKey));
}

export async function markPublished(db: Database, planId: string, itemKey: string): Promise<void> {
  await db
    .update(t)
    .set({ publishedAt: sql`now()` })
    .where(itemIs(planId, itemKey));
}

export async function itemStatus(db: Database, planId: string, itemKey: string): Promise<string | undefined> {
  const [row] = await db.select({ status: t.status }).from(t).where(itemIs(planId, itemKey));
  return row?.status;
}

/** The items of one tenant in a plan, with their key ranges (a split tenant has several). */
export async function tenantItems(db: Database, planId: string, tenantId: string): Promise<Array<Pick<PlanItemRow, 'itemKey' | 'status' | 'keyRange'>>> {
  return db
    .select({ itemKey: t.itemKey, status: t.status, keyRange: t.keyRange })
    .from(t)
    .where(and(eq(t.planId, planId), eq(t.tenantId, tenantId)))
    .orderBy(asc(t.itemKey));
}

/** The tenants a plan split into key ranges, sorted. */
export async function splitTenantsOf(db: Database, planId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ tenantId: t.tenantId })
    .from(t)
    .where(and(eq(t.planId, planId), isNotNull(t.keyRange)))
    .orderBy(asc(t.tenantId));
  return rows.map((r) => r.tenantId);
}

/** How many items a plan holds. */
export async function itemCount(db: Database, planId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(t)
    .where(eq(t.planId, planId));
  return row?.n ?? 0;
}

/** A delivery taken over from a worker that died running the item: that worker, and the item's attempts with it counted. */
export interface DiedRunner {
  worker: Worker;
  attempts: number;
  error: string;
}

/**
 * Marks the item running on `worker`, and says who ran it before. A worker that dies mid-item (OOM, SIGKILL)
 * never reaches `failed()`, so its delivery is counted here, by the next one: the item was left `running`
 * on another worker whose heartbeat is older than `staleMs`, and no session holds the item's run lock
 * (`lockKey`; PostgreSQL drops a session's advisory locks when its process dies). A worker merely paused or
 * slow past AckWait still holds that lock: its item is not counted, and the run's own lock refuses the delivery.
 * Read and written in one statement, so two deliveries racing for the item count the death once.
 */
export async function markRunning(
  db: Database,
  planId: string,
  itemKey: string,
  worker: Worker,
  stale: { lockKey: string; staleMs: number },
): Promise<{ previous?: Worker; died?: DiedRunner }> {
  const rows = await queryRows<{ prev_host: string | null; prev_pid: number | null; died: boolean; attempts: number; error: string | null }>(
    db,
    sql`with prev as (
          select worker_host, worker_pid,
                 status = 'running' and worker_host is not null
                 and (worker_host, worker_pid) is distinct from (${worker.host}::text, ${worker.pid}::int)
                 and heartbeat_at < now() - ${stale.staleMs}::int * interval '1 millisecond'
                 and not exists (
                   select 1 from pg_locks where locktype = 'advisory' and granted and objsubid = 2
                     and database = (select oid from pg_database where datname = current_database())
                     and classid = hashtext('vc_migration')::oid and objid = hashtext(${stale.lockKey}::text)::oid
                 ) as died
            from vc_migration.plan_items
           where plan_id = ${planId} and item_key = ${itemKey} and status <> 'done'
             for update
        )
        update vc_migration.plan_items i
           set status = 'running', worker_host = ${worker.host}, worker_pid = ${worker.pid}, heartbeat_at = now(),
               started_at = coalesce(i.started_at, now()),
               attempts = i.attempts + case when prev.died then 1 else 0 end,
               error = case when prev.died
                 then format('the worker running it (%s pid %s) died without finishing it (killed, out of memory?): its heartbeat stopped and it held no lock', prev.worker_host, prev.worker_pid)
                 else i.error end
          from prev
         where i.plan_id = ${planId} and i.item_key = ${itemKey}
     returning prev.worker_host as prev_host, prev.worker_pid as prev_pid, prev.died, i.attempts, i.error`,
  );
  const row = rows[0];
  if (!row) return {};
  const previous = row.prev_host ? { host: row.prev_host, pid: row.prev_pid ?? 0 } : undefined;
  return { ...(previous ? { previous } : {}), ...(row.died && previous ? { died: { worker: previous, attempts: row.attempts, error: row.error ?? '' } } : {}) };
}

/** Puts back who was running the item (the lock refusal of a redelivery: the earlier worker still has it). */
export async function restoreRunner(db: Database, planId: string, itemKey: string, previous: Worker | undefined): Promise<void> {
  await db
    .update(t)
    .set({ workerHost: previous?.host ?? null, workerPid: previous?.pid ?? null })
    .where(and(itemIs(planId, itemKey), eq(t.status, 'running')));
}

export async function heartbeat(db: Database, planId: string, itemKey: string, worker: Worker): Promise<void> {
  await db
    .update(t)
    .set({ heartbeatAt: sql`now()` })
    .where(and(itemIs(planId, itemKey), eq(t.workerHost, worker.host), eq(t.workerPid, worker.pid), eq(t.status, 'running')));
}

export async function markDone(db: Database, planId: string, itemKey: string): Promise<void> {
  await db
    .update(t)
    .set({ status: 'done', error: null, finishedAt: sql`now()`, completions: sql`${t.completions} + 1` })
    .where(and(itemIs(planId, itemKey), ne(t.status, 'done')));
}

/** Back to queued (drained, or a retryable failure); `error` is kept for `plan status`. */
export async function markQueued(db: Database, planId: string, itemKey: string, worker: Worker, error?: string, failedAttempt = false): Promise<void> {
  await db
    .update(t)
    .set({
      status: 'queued',
      workerHost: null,
      workerPid: null,
      ...(error === undefined ? {} : { error }),
      attempts: sql`${t.attempts} + ${failedAttempt ? 1 : 0}`,
    })
    .where(and(itemIs(planId, itemKey), eq(t.status, 'running'), eq(t.workerHost, worker.host), eq(t.workerPid, worker.pid)));
}

/** Past the max attempts: failed for good (the message is terminated). `countAttempt` false: the last attempt is counted already. */
export async function markFailed(db: Database, planId: string, itemKey: string, error: string, countAttempt = true): Promise<void> {
  await db
    .update(t)
    .set({ status: 'failed', error, attempts: sql`${t.attempts} + ${countAttempt ? 1 : 0}`, finishedAt: sql`now()` })
    .where(and(itemIs(planId, itemKey), ne(t.status, 'done')));
}

export async function attemptsOf(db: Database, planId: string, itemKey: string): Promise<number> {
  const [row] = await db.select({ attempts: t.attempts }).from(t).where(itemIs(planId, itemKey));
  return row?.attempts ?? 0;
}

/** Every item of a plan with its heartbeat's age in seconds (the database's clock), for `plan status`. */
export async function listItems(
  db: Database,
  planId: string,
): Promise<
  Array<
    Pick<PlanItemRow, 'itemKey' | 'tenantId' | 'status' | 'workerHost' | 'workerPid' | 'attempts' | 'completions' | 'error' | 'keyRange'> & {
      ageS: number | null;
    }
  >
> {
  return db
    .select({
      itemKey: t.itemKey,
      keyRange: t.keyRange,
      tenantId: t.tenantId,
      status: t.status,
      workerHost: t.workerHost,
      workerPid: t.workerPid,
      attempts: t.attempts,
      completions: t.completions,
      error: t.error,
      ageS: secondsSince(t.heartbeatAt),
    })
    .from(t)
    .where(eq(t.planId, planId))
    .orderBy(asc(t.itemKey));
}
