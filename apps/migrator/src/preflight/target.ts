import { parseDatabaseUrl, queryRows, SchemaAheadError, schemaState, type DatabaseHandle } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { MigratorConfig } from '../config';
import { fail, pass, probe, type CheckOutcome } from './types';

/** The schemas S0's migrations create objects in, and the service and the migrator then use. */
const SCHEMAS = ['public', 'vc_migration', 'drizzle'] as const;

async function privileges(handle: DatabaseHandle): Promise<CheckOutcome> {
  const id = 'target.privileges';
  if (handle.kind === 'pglite') return pass(id, 'PGlite: an embedded database, owned by this process');
  const rows = await queryRows<{ schema: string; present: boolean; usage: boolean | null; can_create: boolean | null; create_db: boolean }>(
    handle.db,
    sql`select s.name as schema, n.nspname is not null as present,
               case when n.nspname is null then null else has_schema_privilege(n.nspname, 'USAGE') end as usage,
               case when n.nspname is null then null else has_schema_privilege(n.nspname, 'CREATE') end as can_create,
               has_database_privilege(current_database(), 'CREATE') as create_db
          from unnest(string_to_array(${SCHEMAS.join(',')}, ',')) as s(name) left join pg_namespace n on n.nspname = s.name`,
  );
  const missing = rows.flatMap((r) => {
    if (!r.present) return r.create_db ? [] : [`cannot create schema ${r.schema} (no CREATE on the database)`];
    return [...(r.usage ? [] : [`no USAGE on schema ${r.schema}`]), ...(r.can_create ? [] : [`no CREATE on schema ${r.schema}`])];
  });
  if (missing.length > 0) return fail(id, `${missing.join('; ')}: grant them to the migrator's role, or run S0 as the schema owner`);
  const absent = rows.filter((r) => !r.present).map((r) => r.schema);
  return pass(
    id,
    `can use and create in ${SCHEMAS.filter((s) => !absent.includes(s)).join(', ')}${absent.length ? `; can create ${absent.join(', ')} (S0 will)` : ''}`,
  );
}

async function schema(handle: DatabaseHandle): Promise<CheckOutcome> {
  const id = 'target.schema';
  const state = await schemaState(handle);
  if (state.unknown > 0) {
    return fail(id, new SchemaAheadError(state.unknown).message);
  }
  if (state.applied < state.shipped) {
    return fail(
      id,
      state.applied === 0
        ? `s0 not applied (0 of ${state.shipped} migrations): run \`migrator phase s0\``
        : `s0 not applied: ${state.applied} of ${state.shipped} migrations; run \`migrator phase s0\``,
    );
  }
  return pass(id, `s0 applied: ${state.applied} of ${state.shipped} migrations, none unknown to this build`);
}

/**
 * The target PostgreSQL: reachable with `VC_DATABASE_URL`'s credentials, privileged to create in and use
 * the schemas the migrations need, and migrated by S0 to exactly this build's migrations.
 */
export async function targetChecks(handle: DatabaseHandle, config: MigratorConfig): Promise<CheckOutcome[]> {
  const kind = parseDatabaseUrl(config.VC_DATABASE_URL).kind;
  const reachable = await probe('target.reachable', async () => {
    const [row] = await queryRows<{ version: string; role: string; db: string }>(
      handle.db,
      sql`select current_setting('server_version') as version, current_user as role, current_database() as db`,
    );
    return pass('target.reachable', `${kind === 'pglite' ? 'PGlite' : 'PostgreSQL'} ${row!.version}, database ${row!.db} as role ${row!.role}`);
  });
  if (reachable.status === 'fail') return [{ ...reachable, reason: `VC_DATABASE_URL: ${reachable.reason}` }];
  return [reachable, await probe('target.privileges', () => privileges(handle)), await probe('target.schema', () => schema(handle))];
}
