import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './tables/index';
import { claimPgliteDir } from './pglite-claim';

export type Schema = typeof schema;

/** The one Drizzle handle type both drivers satisfy; write queries against this, never a driver type. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export type DatabaseTarget = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string | undefined };

export interface DatabaseHandle {
  db: Database;
  kind: DatabaseTarget['kind'];
  /** Present for `postgres://` URLs: COPY and advisory locks need a raw client. */
  pool?: pg.Pool;
  /** Present for `pglite:` URLs. */
  pglite?: PGlite;
  close(): Promise<void>;
}

/**
 * Reads `postgres://…` / `postgresql://…` or `pglite:<dir>` (`pglite:memory` for a throwaway in-memory
 * database). Throws naming the expected forms, never echoing credentials.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  if (url.startsWith('pglite:')) {
    const rest = url.slice('pglite:'.length);
    return { kind: 'pglite', dataDir: rest === '' || rest === 'memory' ? undefined : rest };
  }
  throw new Error('database URL must be postgres://user@host:port/db or pglite:<dir> (or pglite:memory)');
}

export interface CreateDatabaseOptions {
  /** Pool size for PostgreSQL; PGlite is single-connection by nature. */
  max?: number;
}

/** Opens the target database. The caller owns the handle and must `close()` it. */
export async function createDatabase(url: string, options: CreateDatabaseOptions = {}): Promise<DatabaseHandle> {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: options.max ?? 10 });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = drizzlePg(pool, { schema }) as unknown as Database;
    return { db, kind: 'postgres', pool, close: () => pool.end() };
  }
  if (target.dataDir !== undefined) mkdirSync(target.dataDir, { recursive: true });
  // Imported for a pglite: target only: PGlite and its driver are a large share of a start-up that a
  // PostgreSQL target never uses.
  const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  const release = target.dataDir === undefined ? () => undefined : claimPgliteDir(target.dataDir);
  const client = target.dataDir === undefined ? new PGlite() : new PGlite(target.dataDir);
  try {
    await client.waitReady;
  } catch (error) {
    release();
    throw error;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return { db, kind: 'pglite', pglite: client, close: () => client.close().finally(release) };
}

/**
 * Creates the database named in a `postgres://` URL when it is missing (S0). Connects to the server's
 * `postgres` maintenance database to do so. Returns whether it created it.
 */
export async function ensurePostgresDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('VC_DATABASE_URL names no database (expected postgres://…/virtual_care)');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount !== 0) return false;
    await client.query(`create database ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (error) {
    // Two S0 runs racing: the loser sees duplicate_database, which means the database is there.
    if ((error as { code?: string }).code === PG_ERROR.duplicateDatabase) return false;
    throw error;
  } finally {
    await client.end();
  }
}

/** PostgreSQL error codes the code base branches on, by name. */
export const PG_ERROR = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  duplicateDatabase: '42P04',
  lockNotAvailable: '55P03',
  undefinedTable: '42P01',
  invalidCatalogName: '3D000',
} as const;

/** The SQLSTATE of a driver error (pg and PGlite both expose `code`), if any. */
export function pgErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  // Drizzle wraps driver errors; the code sits on the cause.
  for (let depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Runs raw SQL and returns its rows. Both drivers answer `{ rows }`, but the shared `Database` type
 * cannot say so; this is the one place that bridges it.
 */
export async function queryRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
