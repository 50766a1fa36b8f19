import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';

/**
 * S1's as-of instant for a tenant: sessions before it were historical and loaded by S1; those after were
 * deferred to S4's delta sync. Read from S1's checkpoint facts (`asOf`/`watermark`), else the start of
 * the tenant's first S1 run (as-of defaults to the run's start). Undefined when S1 never ran.
 */
export async function s1Watermark(db: Database, tenantId: string): Promise<Date | undefined> {
  const facts = await queryRows<{ value: string | null }>(
    db,
    sql`select coalesce(facts->>'asOf', facts->>'watermark') as value from vc_migration.step_checkpoints
        where tenant_id = ${tenantId} and phase = 's1' and key_range = '' and coalesce(facts->>'asOf', facts->>'watermark') is not null
        order by step_id limit 1`,
  );
  const fromFacts = facts[0]?.value;
  if (fromFacts) return new Date(fromFacts);
  // Without a recorded as-of, the first real S1 run's own as-of option, else its start (the default as-of).
  const runs = await queryRows<{ as_of: string | null; started_at: Date | string }>(
    db,
    sql`select options->>'asOf' as as_of, started_at from vc_migration.runs
        where tenant_id = ${tenantId} and phase = 's1' and not dry_run order by started_at limit 1`,
  );
  const run = runs[0];
  if (!run) return undefined;
  return new Date(run.as_of ?? run.started_at);
}
