import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { LEGACY_TABLES } from '../legacy/tables';
import type { LegacyTable } from '../legacy/types';

/**
 * The legacy contract (docs/design.md §4) as preflight checks it: the columns and primary key of each
 * table come from the readers' own table list (legacy/tables.ts), so the check and the code that reads
 * cannot disagree; here only what the readers assume of each column's SQL type. The readers take every
 * value as text (`dateStrings`), so a type matters where they rely on it: numeric keys for keyset
 * pagination, datetimes for the as-of watermark.
 */
type Family = 'integer' | 'text' | 'datetime';

const FAMILY_OF_TYPE: Readonly<Record<string, Family>> = {
  tinyint: 'integer',
  smallint: 'integer',
  mediumint: 'integer',
  int: 'integer',
  bigint: 'integer',
  char: 'text',
  varchar: 'text',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  json: 'text',
  enum: 'text',
  datetime: 'datetime',
  timestamp: 'datetime',
};

const INTEGER: ReadonlyArray<`${LegacyTable}.${string}`> = [
  'VirtualSession.id',
  'AuditLog.id',
  'BillingEvent.id',
  'BillingEvent.sessionId',
  'BillingEvent.units',
  'TenantVirtualCareConfig.enabled',
  'telehealth_consent.id',
];
const DATETIME: ReadonlyArray<`${LegacyTable}.${string}`> = [
  'VirtualSession.startedAt',
  'VirtualSession.endedAt',
  'VirtualSession.updatedAt',
  'AuditLog.occurredAt',
  'TenantVirtualCareConfig.updatedAt',
  'BillingEvent.occurredAt',
  'telehealth_consent.granted_at',
  'telehealth_consent.revoked_at',
  'telehealth_consent.expires_at',
  'telehealth_consent.updated_at',
];
// Historically varchar in legacy (an old ORM wrote them as text); a datetime column holds the same text.
const TEXT_OR_DATETIME: ReadonlyArray<`${LegacyTable}.${string}`> = [
  'VirtualSession.scheduledStart',
  'VirtualSession.scheduledEnd',
  'VirtualSession.createdAt',
];

/** The SQL type families a column may have. */
export function acceptedFamilies(table: LegacyTable, column: string): readonly Family[] {
  const key = `${table}.${column}` as const;
  if (INTEGER.includes(key)) return ['integer'];
  if (DATETIME.includes(key)) return ['datetime'];
  if (TEXT_OR_DATETIME.includes(key)) return ['text', 'datetime'];
  return ['text'];
}

/** The database each table lives in. */
export const DIGITAL_COMMUNICATION_TABLES: readonly LegacyTable[] = ['VirtualSession', 'AuditLog', 'TenantVirtualCareConfig', 'BillingEvent'];
export const PATIENT_PORTAL_TABLES: readonly LegacyTable[] = ['telehealth_consent'];

interface ColumnRow extends RowDataPacket {
  table_name: string;
  column_name: string;
  data_type: string;
  column_key: string;
}

/** Every way `tables` in the connected MySQL database depart from the contract; empty when they match. */
export async function mysqlContractFaults(connection: Connection, tables: readonly LegacyTable[]): Promise<string[]> {
  const [rows] = await connection.query<ColumnRow[]>(
    `select table_name as table_name, column_name as column_name, lower(data_type) as data_type, column_key as column_key
       from information_schema.columns where table_schema = database() and table_name in (?) order by table_name, ordinal_position`,
    [tables],
  );
  const faults: string[] = [];
  for (const table of tables) {
    const info = LEGACY_TABLES[table];
    const columns = rows.filter((r) => r.table_name === table);
    if (columns.length === 0) {
      faults.push(`table ${table} is missing`);
      continue;
    }
    const byName = new Map(columns.map((c) => [c.column_name, c]));
    const missing = info.columns.filter((c) => !byName.has(c));
    if (missing.length > 0) faults.push(`${table}: missing column(s) ${missing.join(', ')}`);
    for (const column of info.columns) {
      const found = byName.get(column);
      if (!found) continue;
      const accepted = acceptedFamilies(table, column);
      const family = FAMILY_OF_TYPE[found.data_type];
      if (!family || !accepted.includes(family))
        faults.push(`${table}.${column} is ${found.data_type}, expected ${accepted.map((f) => `${f === 'integer' ? 'an' : 'a'} ${f} type`).join(' or ')}`);
    }
    const key = columns.filter((c) => c.column_key === 'PRI').map((c) => c.column_name);
    if (key.join(',') !== info.key) faults.push(`${table}: primary key (${key.join(', ') || 'none'}), expected (${info.key})`);
  }
  return faults;
}

/** The header row of a CSV export file (a leading BOM dropped), read without reading the file. */
async function headerOf(path: string): Promise<string[]> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    const text = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    const [header] = parse(text.split(/\r?\n/)[0] ?? '', { relax_column_count: true }) as string[][];
    return (header ?? []).map((h) => h.trim());
  } finally {
    await file.close();
  }
}

/** A CSV export holds no types or keys: its files must exist, be readable and name every contract column. */
export async function csvContractFaults(dir: string, tables: readonly LegacyTable[]): Promise<string[]> {
  const faults: string[] = [];
  for (const table of tables) {
    try {
      const header = await headerOf(join(dir, `${table}.csv`));
      const missing = LEGACY_TABLES[table].columns.filter((c) => !header.includes(c));
      if (missing.length > 0) faults.push(`${table}.csv: the header lacks column(s) ${missing.join(', ')}`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      faults.push(`${table}.csv: ${code === 'ENOENT' ? 'not in the export' : code === 'EACCES' ? 'not readable' : 'unreadable'}`);
    }
  }
  return faults;
}
