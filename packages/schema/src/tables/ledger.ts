import { bigint, index, jsonb, text } from 'drizzle-orm/pg-core';
import { vcMigration } from './migration';

/**
 * The run ledger: one row per migrator invocation that writes, appended and never updated. Each row's
 * `hash` is the sha256 of its canonical JSON (`seq`, `prev_hash` and `entry`), and `prev_hash` is the hash
 * of the row before it, so an edited, inserted or deleted row breaks the chain (`migrator ledger verify`).
 */
export const runLedger = vcMigration.table(
  'ledger',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    /** Who, where, which tool commit, the command and flags, config hash, start/end, exit status, counts. */
    entry: jsonb('entry').$type<Record<string, unknown>>().notNull(),
    /** The tenants the invocation named or ran (`*` for a global phase), for `migrator evidence --tenant`. */
    tenants: text('tenants').array().notNull(),
  },
  (t) => [index('ledger_tenants_idx').using('gin', t.tenants)],
);

export type RunLedgerRow = typeof runLedger.$inferSelect;
