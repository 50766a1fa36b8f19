import { getTableColumns, getTableName, sql, type SQL } from 'drizzle-orm';
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';

/**
 * A bulk insert's target from the Drizzle table: its qualified name and the SQL names of the columns
 * given by their Drizzle keys, so `Tx.insertMany` (COPY) never spells a column the schema does not have.
 */
export function bulkTarget<T extends PgTable>(table: T, keys: ReadonlyArray<keyof T['_']['columns'] & string>): { table: string; columns: string[] } {
  const columns = getTableColumns(table);
  const schema = getTableConfig(table).schema;
  return { table: schema ? `${schema}.${getTableName(table)}` : getTableName(table), columns: keys.map((key) => columns[key]!.name) };
}

/** Seconds from a stored time to the database's now, to a tenth (null when the time is null): a heartbeat's age. */
export function secondsSince(column: PgColumn): SQL<number | null> {
  return sql<number | null>`case when ${column} is null then null else round(extract(epoch from now() - ${column})::numeric, 1)::float8 end`;
}
