import pg from 'pg';
import { pgQuery } from './counts';
import type { RunningCli } from './run-cli';

/**
 * Test support: two writers of `virtual_sessions` made to cross in a chosen order, with no timing luck. A trigger
 * holds a writer's transaction on an advisory lock the test holds; the test waits until PostgreSQL shows who waits
 * for what (pg_locks, pg_stat_activity), then lets it go.
 */

export async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // Dropping the database at the end terminates this connection; that is expected, not a failure.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Polls `probe` until it holds; `ended` says why waiting is pointless (a run that exited), and fails the wait. */
export async function until(what: string, probe: () => Promise<boolean>, ended: () => string | undefined = () => undefined): Promise<void> {
  for (;;) {
    if (await probe()) return;
    const why = ended();
    if (why !== undefined) throw new Error(`${why} before ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const count = async (client: pg.Client, sql: string, params: unknown[] = []) => (await pgQuery(client)<{ n: number }>(sql, params))[0]!.n;

/** How many sessions wait for the advisory lock (`key`, `sub`) of this database. */
export function waitingForLock(client: pg.Client, key: number, sub: number): Promise<number> {
  return count(
    client,
    `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and classid = $1 and objid = $2 and objsubid = 2
       and database = (select oid from pg_database where datname = current_database())`,
    [key, sub],
  );
}

/** How many sessions of this database wait for another transaction to end (an insert of a key it inserted, say). */
export function waitingForTransaction(client: pg.Client): Promise<number> {
  return count(
    client,
    `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'transactionid'`,
  );
}

/**
 * Holds the transaction that inserts session `id` for `tenantId`, once the row is in (an AFTER trigger: the id is
 * taken, uncommitted), until the test releases the advisory lock (`key`, `sub`) it takes here. One trigger per `sub`.
 */
export function holdAfterInserting(client: pg.Client, given: { tenantId: string; id: string; key: number; sub: number }): Promise<void> {
  return holdAfter(client, 'virtual_sessions', `new.tenant_id = ${client.escapeLiteral(given.tenantId)} and new.id = ${client.escapeLiteral(given.id)}`, given);
}

/**
 * Holds the transaction that records a reject of legacy row `legacyKey` for `tenantId` (a batch's commit, its rows
 * written), until the test releases the advisory lock (`key`, `sub`) it takes here.
 */
export function holdAfterRejecting(client: pg.Client, given: { tenantId: string; legacyKey: string; key: number; sub: number }): Promise<void> {
  const { tenantId, legacyKey } = given;
  return holdAfter(
    client,
    'vc_migration.rejects',
    `new.tenant_id = ${client.escapeLiteral(tenantId)} and new.legacy_key = ${client.escapeLiteral(legacyKey)}`,
    given,
  );
}

async function holdAfter(client: pg.Client, table: string, when: string, { key, sub }: { key: number; sub: number }): Promise<void> {
  const name = `vc_test_hold_after_${sub}`;
  await client.query(`create function ${name}() returns trigger language plpgsql as $$
    begin
      if ${when} then
        perform pg_advisory_xact_lock_shared(${key}, ${sub});
      end if;
      return null;
    end $$`);
  await client.query(`create trigger ${name} after insert on ${table} for each row execute function ${name}()`);
  await client.query('select pg_advisory_lock($1, $2)', [key, sub]);
}

/** Why waiting on a CLI run is pointless: it exited (with its stderr), or undefined while it runs. */
export const exited = (run: RunningCli) => () => (run.child.exitCode === null ? undefined : `the run ended (exit ${run.child.exitCode}):\n${run.stderr()}`);

/**
 * Where a contested session id ended up: who holds it, the losing legacy row's rejects by `step` (S1's 1.1 unless
 * named: reason, and the raw row's id and externalId), and how many `virtual_sessions` and id-map rows the loser left
 * (none, for a clean reject).
 */
export async function clashOutcome(client: pg.Client, id: string, loser: { tenant: string; legacyId: string }, step = '1.1') {
  const q = pgQuery(client);
  const holders = await q<{ tenant_id: string; legacy_id: string }>(`select tenant_id, legacy_id from virtual_sessions where id = $1`, [id]);
  const rejects = await q<{ reason: string; id: string; external: string }>(
    `select reason, raw->>'id' as id, raw->>'externalId' as external from vc_migration.rejects where tenant_id = $1 and step_id = $3 and legacy_key = $2`,
    [loser.tenant, loser.legacyId, step],
  );
  const left = await count(
    client,
    `select (select count(*) from virtual_sessions where tenant_id = $1 and legacy_id = $2)::int
          + (select count(*) from vc_migration.id_map where tenant_id = $1 and legacy_id = $2)::int as n`,
    [loser.tenant, loser.legacyId],
  );
  return { holders, rejects, left };
}

/** Rows of the target a rerun must not change: sessions, rejects, id-map rows. */
export async function targetTotals(client: pg.Client) {
  return (
    await pgQuery(client)<{ sessions: number; rejects: number; ids: number }>(
      `select (select count(*) from virtual_sessions)::int as sessions, (select count(*) from vc_migration.rejects)::int as rejects,
              (select count(*) from vc_migration.id_map)::int as ids`,
    )
  )[0]!;
}

/** How many other sessions are connected to this database (a killed run's backends end after their wait). */
export function otherSessions(client: pg.Client): Promise<number> {
  return count(client, `select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
}

/** The session waiting for the advisory lock (`key`, `sub`) of this database: a held writer's backend. */
export async function lockWaiter(client: pg.Client, key: number, sub: number): Promise<number> {
  const rows = await pgQuery(client)<{ pid: number }>(
    `select pid from pg_locks where locktype = 'advisory' and not granted and classid = $1 and objid = $2 and objsubid = 2
       and database = (select oid from pg_database where datname = current_database())`,
    [key, sub],
  );
  if (rows.length !== 1) throw new Error(`expected one session waiting for advisory lock (${key}, ${sub}), found ${rows.length}`);
  return rows[0]!.pid;
}

/** How many sessions wait for the session `pid` (for its transaction, say: an id it inserted uncommitted). */
export function blockedBy(client: pg.Client, pid: number): Promise<number> {
  return count(client, `select count(*)::int as n from pg_stat_activity where datname = current_database() and $1 = any(pg_blocking_pids(pid))`, [pid]);
}
