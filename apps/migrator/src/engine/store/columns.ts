import { getTableColumns, getTableName } from 'drizzle-orm';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';

/**
 * A bulk insert's target from the Drizzle table: its qualified name and the SQL names of the columns
 * given by their Drizzle keys, so `Tx.insertMany` (COPY) never spells a column the schema does not have.
 */
export function bulkTarget<T extends PgTable>(table: T, keys: ReadonlyArray<keyof T['_']['columns'] & string>): { table: string; columns: string[] } {
  const columns = getTableColumns(table);
  const schema = getTableConfig(table).schema;
  return { table: schema ? `${schema}.${getTableName(table)}` : getTableName(table), columns: keys.map((key) => columns[key]!.name) };
}
