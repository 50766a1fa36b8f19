import { migrationPlanItems, migrationPlans, queryRows, type Database } from '@vc/schema';
import { asc, count, desc, eq, sql } from 'drizzle-orm';

/** `vc_migration.plans`: one row per distributed plan, with the options its items run with. */

type PlanRow = typeof migrationPlans.$inferSelect;

/** Stores the plan unless already there (the first options win); true when this call stored it. */
export async function insertPlan(db: Database, plan: Pick<PlanRow, 'id' | 'phase' | 'options'>): Promise<boolean> {
  const inserted = await db
    .insert(migrationPlans)
    .values({ id: plan.id, phase: plan.phase, options: plan.options })
    .onConflictDoNothing({ target: migrationPlans.id })
    .returning({ id: migrationPlans.id });
  return inserted.length > 0;
}

export async function planExists(db: Database, id: string): Promise<boolean> {
  const [row] = await db.select({ id: migrationPlans.id }).from(migrationPlans).where(eq(migrationPlans.id, id));
  return row !== undefined;
}

export async function loadPlanOptionsRow(db: Database, id: string): Promise<PlanRow['options'] | undefined> {
  const [row] = await db.select({ options: migrationPlans.options }).from(migrationPlans).where(eq(migrationPlans.id, id));
  return row?.options;
}

/** Item counts by status of every plan, newest plan first; a plan with no items has one row with a null status. Empty when the plan tables do not exist yet. */
export async function planStatusCounts(db: Database): Promise<Array<Pick<PlanRow, 'id' | 'phase' | 'createdAt'> & { status: string | null; n: number }>> {
  // A catalog lookup, not a plan table: `status` works against a database migrated before plans existed.
  const [exists] = await queryRows<{ ok: boolean }>(db, sql`select to_regclass('vc_migration.plans') is not null as ok`);
  if (!exists?.ok) return [];
  return db
    .select({
      id: migrationPlans.id,
      phase: migrationPlans.phase,
      createdAt: migrationPlans.createdAt,
      status: migrationPlanItems.status,
      n: count(migrationPlanItems.planId),
    })
    .from(migrationPlans)
    .leftJoin(migrationPlanItems, eq(migrationPlanItems.planId, migrationPlans.id))
    .groupBy(migrationPlans.id, migrationPlans.phase, migrationPlans.createdAt, migrationPlanItems.status)
    .orderBy(desc(migrationPlans.createdAt), asc(migrationPlans.id));
}
