import { ensurePostgresDatabase, migrate, parseDatabaseUrl, SchemaAheadError, type DatabaseHandle } from '@vc/schema';
import type { MigratorConfig } from '../../config';
import { UsageError, StepFailed } from '../../engine/errors';

/**
 * Plan S0, first bullets: create the `virtual_care` database when missing (PostgreSQL; a PGlite
 * directory is created on open) and apply every pending migration. Runs before the engine, whose own
 * tables (`vc_migration.*`) come from these migrations. Idempotent: a second run creates and applies nothing.
 */
export async function prepareDatabase(config: MigratorConfig, handle: DatabaseHandle): Promise<Record<string, unknown>> {
  const target = parseDatabaseUrl(config.VC_DATABASE_URL);
  let created = false;
  if (target.kind === 'postgres') {
    try {
      created = await ensurePostgresDatabase(target.url);
    } catch (error) {
      throw new StepFailed(`S0 could not create the database of VC_DATABASE_URL: ${(error as Error).message}`, { cause: error });
    }
  }
  const result = await migrate(handle).catch((error: unknown) => {
    // Not resumable by re-running this build: the operator has to pick the right version (exit 2, usage).
    if (error instanceof SchemaAheadError) throw new UsageError(`S0: VC_DATABASE_URL: ${error.message}`, { cause: error });
    throw error;
  });
  return { database: { kind: target.kind, created, migrationsApplied: result.applied, migrationsTotal: result.total } };
}
