import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { queryRows, type DatabaseHandle } from './client';

/** The committed drizzle-kit migrations, resolved from this file so it works from any working directory. */
export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));

/** Any constant: it only has to be the same for every process that migrates this database. */
const MIGRATION_LOCK_KEY = 7_261_900_001;

export interface MigrateResult {
  /** Migrations applied by this call; 0 when the database was already current. */
  applied: number;
  total: number;
}

async function appliedCount(handle: DatabaseHandle): Promise<number> {
  const [exists] = await queryRows<{ present: boolean }>(handle.db, sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!exists?.present) return 0;
  const [result] = await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
  return result!.n;
}

/**
 * Applies pending migrations on PostgreSQL or PGlite. Re-applying is a no-op. On PostgreSQL an advisory
 * lock serialises concurrent callers (two S0 runs, or a service replica booting during S0).
 */
export async function migrate(handle: DatabaseHandle): Promise<MigrateResult> {
  const before = await appliedCount(handle);
  if (handle.kind === 'pglite') {
    await migratePglite(handle.db as unknown as PgliteDatabase, { migrationsFolder });
  } else {
    const client = await handle.pool!.connect();
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await migratePg(drizzlePg(client), { migrationsFolder });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  }
  const total = await appliedCount(handle);
  return { applied: total - before, total };
}
