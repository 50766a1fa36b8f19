import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PG_ERROR, pgErrorCode, type Database, type DatabaseHandle, type Schema } from '@vc/schema';
import * as schema from '@vc/schema';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { drizzle as DrizzlePglite } from 'drizzle-orm/pglite';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyChunks, decodeRows, encodeRows, isCopyRows, paramValue, type CopyRows } from './copy-text';
import { inSavepoint, rehearsalTx, rehearse } from './rehearsal';
import type { InsertOptions, Tx } from './types';

type PGlite = NonNullable<DatabaseHandle['pglite']>;
type Transaction = Parameters<Parameters<PGlite['transaction']>[0]>[0];

/** A parameterised query returning rows. */
export type Query = <T>(text: string, params?: readonly unknown[]) => Promise<T[]>;

const quoteIdent = (name: string) =>
  name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');

/** PostgreSQL's bind-parameter limit is 65535 per statement; stay under it. */
const MAX_PARAMS = 60_000;

async function multiRowInsert(
  query: Query,
  table: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
  onConflict?: string,
): Promise<number> {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const cols = columns.map(quoteIdent).join(', ');
  let affected = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => `(${row.map((v) => (params.push(paramValue(v)), `$${params.length}`)).join(', ')})`);
    const conflict = onConflict ? ` on conflict ${onConflict}` : '';
    const result = await query<{ n: number }>(
      `with ins as (insert into ${quoteIdent(table)} (${cols}) values ${tuples.join(', ')}${conflict} returning 1) select count(*)::int as n from ins`,
      params,
    );
    affected += result[0]?.n ?? 0;
  }
  return affected;
}

async function copyRows(client: pg.PoolClient, table: string, columns: readonly string[], rows: CopyRows): Promise<number> {
  const stream = client.query(copyFrom(`copy ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) from stdin`));
  await pipeline(Readable.from(copyChunks(rows)), stream);
  return stream.rowCount ?? rows.lines.length;
}

/** Rows as given (value arrays or COPY text already written): COPY text for COPY, value arrays for parameters. */
type Rows = ReadonlyArray<readonly unknown[]> | CopyRows;
const asCopy = (rows: Rows): CopyRows => (isCopyRows(rows) ? rows : encodeRows(rows));
const asValues = (rows: Rows): ReadonlyArray<readonly unknown[]> => (isCopyRows(rows) ? decodeRows(rows) : rows);
const countOf = (rows: Rows): number => (isCopyRows(rows) ? rows.lines.length : rows.length);

const insertOptions = (given: InsertOptions | string | undefined): InsertOptions => (typeof given === 'string' ? { onConflict: given } : (given ?? {}));

const columnTypes = new Map<string, Promise<Map<string, string>>>();

/** Column → SQL type of a table (cached per process: the schema does not change under a run). */
function typesOf(client: pg.PoolClient, table: string): Promise<Map<string, string>> {
  if (!columnTypes.has(table)) {
    const loading = client
      .query<{ name: string; type: string }>(
        'select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped',
        [table],
      )
      .then(({ rows }) => new Map(rows.map((r) => [r.name, r.type])));
    loading.catch(() => columnTypes.delete(table));
    columnTypes.set(table, loading);
  }
  return columnTypes.get(table)!;
}

/**
 * An upsert where conflicts are the norm (aggregating rows across batches): one statement over typed
 * arrays, `insert … select * from unnest($1::t1[], …) on conflict …` — one round trip, no staging table.
 */
async function unnestUpsert(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
  onConflict: string,
): Promise<number> {
  const types = await typesOf(client, table);
  const arrays = columns.map((_, i) => rows.map((row) => paramValue(row[i])));
  const casts = columns.map((c, i) => {
    const type = types.get(c);
    if (!type) throw new Error(`${table} has no column ${c}`);
    return `$${i + 1}::${type}[]`;
  });
  const result = await client.query(
    `insert into ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) select * from unnest(${casts.join(', ')}) on conflict ${onConflict}`,
    arrays,
  );
  return result.rowCount ?? 0;
}

let stageSerial = 0;

/**
 * COPY with an ON CONFLICT clause: COPY cannot resolve conflicts itself, so rows go to a temporary table
 * dropped at commit, then `insert … select … on conflict`. Still one round trip per batch, not per row.
 */
async function stagedCopy(client: pg.PoolClient, table: string, columns: readonly string[], rows: CopyRows, onConflict: string): Promise<number> {
  const stage = `vc_stage_${++stageSerial}`;
  const cols = columns.map(quoteIdent).join(', ');
  await client.query(`create temporary table ${stage} on commit drop as select ${cols} from ${quoteIdent(table)} with no data`);
  await copyRows(client, stage, columns, rows);
  const result = await client.query(`insert into ${quoteIdent(table)} (${cols}) select ${cols} from ${stage} on conflict ${onConflict}`);
  await client.query(`drop table ${stage}`);
  return result.rowCount ?? 0;
}

function postgresTx(client: pg.PoolClient): Tx {
  const query: Query = async <T>(text: string, params?: readonly unknown[]) => (await client.query(text, params as unknown[] | undefined)).rows as T[];
  return {
    db: drizzlePg(client, { schema }) as unknown as Database,
    query,
    async insertMany(table, columns, given, how) {
      const options = insertOptions(how);
      if (countOf(given) === 0) return 0;
      if (options.conflictsLikely && options.onConflict) return unnestUpsert(client, table, columns, asValues(given), options.onConflict);
      const rows = asCopy(given);
      if (!options.onConflict) return copyRows(client, table, columns, rows);
      // The common case (a first load) has no conflicts: try the straight COPY, fall back on a unique violation.
      await client.query('savepoint vc_copy');
      try {
        const n = await copyRows(client, table, columns, rows);
        await client.query('release savepoint vc_copy');
        return n;
      } catch (error) {
        if (pgErrorCode(error) !== PG_ERROR.uniqueViolation) throw error;
        await client.query('rollback to savepoint vc_copy');
        return stagedCopy(client, table, columns, rows, options.onConflict);
      }
    },
  };
}

function pgliteTx(tx: Transaction, drizzlePglite: typeof DrizzlePglite): Tx {
  const query: Query = async <T>(text: string, params?: readonly unknown[]) => (await tx.query<T>(text, params as unknown[] | undefined)).rows;
  return {
    // PGlite's Transaction answers `query` like PGlite itself, which is all Drizzle's session uses.
    db: drizzlePglite(tx as unknown as PGlite, { schema: schema as unknown as Schema }) as unknown as Database,
    query,
    insertMany: (table, columns, rows, given) =>
      countOf(rows) === 0 ? Promise.resolve(0) : multiRowInsert(query, table, columns, asValues(rows), insertOptions(given).onConflict),
  };
}

/** Runs `fn` in one transaction on either driver; commits when it resolves, rolls back when it throws. */
export async function withTransaction<T>(handle: DatabaseHandle, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const rehearsal = rehearsalTx(handle);
  if (rehearsal) return inSavepoint(rehearsal, fn);
  if (handle.kind === 'pglite') {
    // Imported here: drizzle's PGlite driver loads PGlite itself, which a PostgreSQL target never needs.
    const { drizzle } = await import('drizzle-orm/pglite');
    return handle.pglite!.transaction((tx) => fn(pgliteTx(tx, drizzle)));
  }
  const client = await handle.pool!.connect();
  let broken: unknown;
  const onError = (error: unknown) => (broken = error);
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await fn(postgresTx(client));
    await client.query('commit');
    return result;
  } catch (error) {
    if (!broken) await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/** Plain queries outside a batch transaction (reads, lookups). */
export function queryOf(handle: DatabaseHandle): Query {
  const rehearsal = rehearsalTx(handle);
  if (rehearsal) return rehearsal.query as Query;
  if (handle.kind === 'pglite')
    return async <T>(text: string, params?: readonly unknown[]) => (await handle.pglite!.query<T>(text, params as unknown[] | undefined)).rows;
  return async <T>(text: string, params?: readonly unknown[]) => (await handle.pool!.query(text, params as unknown[] | undefined)).rows as T[];
}

/** Runs `fn` on a handle bound to one transaction that is rolled back at the end: a dry run (engine/rehearsal.ts). */
export function withRolledBackTransaction<T>(handle: DatabaseHandle, fn: (rehearsal: DatabaseHandle) => Promise<T>): Promise<T> {
  return rehearse(handle, withTransaction, fn);
}
