import type { Step } from '../../engine/types';

/** Plan S0 "Create virtual_care database" + "Run Drizzle ORM migrations": records what `prepareDatabase` did. */
export const databaseStep: Step = {
  id: '0.1',
  title: 'Create the virtual_care database and apply migrations',
  scope: 'global',
  rerunWhenDone: true,
  async run(ctx) {
    const prepared = ctx.prepared as { database?: { created: boolean; migrationsApplied: number; migrationsTotal: number } };
    const db = prepared.database;
    ctx.log.info({ ...db }, db?.created ? 'created the database' : 'database present');
    await ctx.commit({ cursor: { done: true }, read: 0, written: db?.migrationsApplied ?? 0, facts: { ...prepared } });
  },
};
