import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { queryRows, type DatabaseHandle } from './client';

/**
 * The committed drizzle-kit migrations, found through this package's own package.json so it works from any
 * working directory and from an app's build (dist/), where this module is bundled far from `drizzle/`.
 */
export const migrationsFolder = join(dirname(createRequire(import.meta.url).resolve('@vc/schema/package.json')), 'drizzle');

/** Any constant: it only has to be the same for every process that migrates this database. */
const MIGRATION_LOCK_KEY = 7_261_900_001;

export interface MigrateResult {
  /** Migrations applied by this call; 0 when the database was already current. */
  applied: number;
  total: number;
}

/**
 * The database holds migrations this build does not ship: a newer version of virtual-care migrated it.
 * Running older code against a newer schema (or "re-applying" under it) is how columns get lost, so it
 * stops here, as graphile-worker does, instead of guessing.
 */
export class SchemaAheadError extends Error {
  constructor(readonly unknownMigrations: number) {
    super(
      `the database has ${unknownMigrations} migration(s) this build of virtual-care does not know: it was migrated by a newer version. ` +
        'Run the newer version, or restore the database from before it; refusing to use it.',
    );
    this.name = 'SchemaAheadError';
  }
}

/** The `when` stamps of the committed migrations: drizzle records each as `created_at` when it applies it. */
function shippedMigrationStamps(): Set<number> {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ when: number }> };
  return new Set(journal.entries.map((entry) => entry.when));
}

/** How the database's migrations compare with this build's: what `migrator preflight` reports. */
export interface SchemaState {
  /** Migrations the database records. */
  applied: number;
  /** Migrations this build ships. */
  shipped: number;
  /** Applied migrations this build does not ship (a newer version migrated the database). */
  unknown: number;
}

export async function schemaState(handle: DatabaseHandle): Promise<SchemaState> {
  const shipped = shippedMigrationStamps();
  const [exists] = await queryRows<{ present: boolean }>(handle.db, sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!exists?.present) return { applied: 0, shipped: shipped.size, unknown: 0 };
  const applied = await queryRows<{ created_at: string | number }>(handle.db, sql`select created_at from drizzle.__drizzle_migrations`);
  return { applied: applied.length, shipped: shipped.size, unknown: applied.filter((row) => !shipped.has(Number(row.created_at))).length };
}

/** Throws {@link SchemaAheadError} when the database records a migration the journal does not hold. */
export async function assertSchemaNotAhead(handle: DatabaseHandle): Promise<void> {
  const { unknown } = await schemaState(handle);
  if (unknown > 0) throw new SchemaAheadError(unknown);
}

async function appliedCount(handle: DatabaseHandle): Promise<number> {
  const [exists] = await queryRows<{ present: boolean }>(handle.db, sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!exists?.present) return 0;
  const [result] = await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
  return result!.n;
}

/**
 * Applies pending migrations on PostgreSQL or PGlite. Re-applying is a no-op; a database ahead of this
 * build is refused ({@link SchemaAheadError}). On PostgreSQL an advisory lock serialises concurrent
 * callers (two S0 runs, or a service replica booting during S0).
 */
export async function migrate(handle: DatabaseHandle): Promise<MigrateResult> {
  await assertSchemaNotAhead(handle);
  const before = await appliedCount(handle);
  if (handle.kind === 'pglite') {
    const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
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
