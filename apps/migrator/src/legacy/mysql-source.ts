import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';
import { createParticipantPushdown } from './mysql-participants';
import { readAheadUnlessOff } from './read-ahead';
import { collationKey, tenantSpelling, TRIMMED_EDGE_PATTERN, TRIMMED_RUNS_PATTERN } from './matching';
import { LEGACY_TABLES } from './tables';
import type { KeyRangeReader, LegacyBatch, LegacyRow, LegacySource, LegacyTable, ReadOptions } from './types';

const ident = (name: string) => `\`${name.replace(/`/g, '``')}\``;

function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

/**
 * The row as text, in place: the driver already returns most values as strings (dates, big numbers), and
 * a fresh object per row was a large share of the migrator's garbage collection.
 */
function asTextRow(row: RowDataPacket): LegacyRow {
  const out = row as Record<string, unknown>;
  for (const key in out) {
    const value = out[key];
    if (typeof value !== 'string' && value !== null) out[key] = asText(value);
  }
  return out as LegacyRow;
}

function whereClause(table: LegacyTable, options: Pick<ReadOptions, 'tenantId' | 'where' | 'apart'>): { sql: string[]; params: unknown[] } {
  const info = LEGACY_TABLES[table];
  const sql: string[] = [];
  const params: unknown[] = [];
  if (options.tenantId !== undefined) {
    sql.push(`${ident(info.tenantColumn)} = ?`);
    params.push(options.tenantId);
  }
  const marks = (values: readonly string[]) => values.map(() => '?').join(', ');
  for (const filter of options.where ?? []) {
    if (filter.in.length === 0) {
      sql.push('false');
      continue;
    }
    const column = ident(filter.column);
    if (filter.collated) {
      sql.push(`${column} in (${marks(filter.in)})`);
      params.push(...filter.in);
      continue;
    }
    // The collation ignores trailing spaces but not leading ones, nor a trailing tab or line break, which the domain
    // rule trims: such a value is compared trimmed as `normalise` trims it. Only rows with one are trimmed, so
    // the rest of the filter stays an `in` the planner knows.
    sql.push(`(${column} in (${marks(filter.in)}) or (${column} regexp ? and regexp_replace(${column}, ?, '') in (${marks(filter.in)})))`);
    params.push(...filter.in, TRIMMED_EDGE_PATTERN, TRIMMED_RUNS_PATTERN, ...filter.in);
  }
  if (options.apart) {
    const alternatives: string[] = [];
    // `\z`, not `$`: MariaDB's REGEXP is PCRE, whose `$` also matches before a final newline, so '^[0-9]+$' would take
    // '42<newline>' for digits alone and leave it out of these rows, while the `in` filter never equals it with '42':
    // validate's streamed pass would not see the event S1 files under session 42 (its sums then agree without it).
    const { notDigits, uncollated = [] } = options.apart;
    if (notDigits !== undefined) alternatives.push(`not coalesce(cast(${ident(notDigits)} as binary) regexp '^[0-9]+\\\\z', false)`);
    for (const filter of options.where ?? []) {
      if (!uncollated.includes(filter.column) || filter.in.length === 0) continue;
      alternatives.push(`not coalesce(${ident(filter.column)} in (${marks(filter.in)}), false)`);
      params.push(...filter.in);
    }
    sql.push(alternatives.length ? `(${alternatives.join(' or ')})` : 'false');
  }
  return { sql, params };
}

/** Cuts and key lookups on the `(tenantId, id)` indexes: each cut skips `every` index entries from the last. */
function keyRangeReader(pool: Pool): KeyRangeReader {
  return {
    async count(table, tenantId) {
      const info = LEGACY_TABLES[table];
      const [rows] = await pool.query<RowDataPacket[]>(`select count(*) as n from ${ident(table)} where ${ident(info.tenantColumn)} = ?`, [tenantId]);
      return Number(rows[0]!.n);
    },
    async cuts(table, tenantId, every) {
      const info = LEGACY_TABLES[table];
      const cuts: string[] = [];
      for (;;) {
        const after = cuts[cuts.length - 1];
        const [rows] = await pool.query<RowDataPacket[]>(
          `select ${ident(info.key)} as k from ${ident(table)} where ${ident(info.tenantColumn)} = ?${after === undefined ? '' : ` and ${ident(info.key)} > ${info.numericKey ? 'cast(? as signed)' : '?'}`}
            order by ${ident(info.key)} limit 1 offset ${Number(every) - 1}`,
          after === undefined ? [tenantId] : [tenantId, after],
        );
        if (rows.length === 0) return cuts;
        cuts.push(String(rows[0]!.k));
      }
    },
    async byKeys(table, tenantId, keys) {
      if (keys.length === 0) return [];
      const info = LEGACY_TABLES[table];
      const [rows] = await pool.query<RowDataPacket[]>(
        `select * from ${ident(table)} where ${ident(info.tenantColumn)} = ? and ${ident(info.key)} in (${keys.map(() => (info.numericKey ? 'cast(? as signed)' : '?')).join(', ')}) order by ${ident(info.key)}`,
        [tenantId, ...keys],
      );
      return rows.map(asTextRow);
    },
  };
}

/**
 * Legacy MySQL/MariaDB reader: keyset pagination on the primary key (`where key > ? order by key limit n`,
 * served by the `(tenantId, id)` indexes), so every batch is an index range scan whatever the offset.
 * Datetimes come back as text (`dateStrings`), exactly as a CSV export writes them, zero dates included.
 */
export function createMysqlSource(url: string, database?: string, options: { pushdown?: boolean } = {}): LegacySource {
  const pool: Pool = mysql.createPool({
    uri: url,
    ...(database ? { database } : {}),
    // Tenants may run side by side (S1): each keeps a page read and an unawaited count in flight.
    connectionLimit: 6,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
  });
  const host = new URL(url.replace(/^mariadb:/, 'mysql:'));
  const description = `mysql://${host.host}${database ? `/${database}` : host.pathname}`;

  async function page(table: LegacyTable, options: ReadOptions, after: string | null): Promise<LegacyBatch | null> {
    const info = LEGACY_TABLES[table];
    const where = whereClause(table, options);
    if (after !== null) {
      where.sql.push(info.numericKey ? `${ident(info.key)} > cast(? as signed)` : `${ident(info.key)} > ?`);
      where.params.push(after);
    }
    if (options.until !== undefined && options.until !== null) {
      where.sql.push(info.numericKey ? `${ident(info.key)} <= cast(? as signed)` : `${ident(info.key)} <= ?`);
      where.params.push(options.until);
    }
    const columns = options.columns ? [...new Set([info.key, ...options.columns])].map(ident).join(', ') : '*';
    const order = options.unordered ? '' : ` order by ${ident(info.key)} limit ${Number(options.batchSize)}`;
    const sql = `select ${columns} from ${ident(table)}${options.index ? ` force index (${ident(options.index)})` : ''}${where.sql.length ? ` where ${where.sql.join(' and ')}` : ''}${order}`;
    const [rows] = await pool.query<RowDataPacket[]>(sql, where.params);
    if (rows.length === 0) return null;
    const texts = rows.map(asTextRow);
    const keys = texts.map((row) => row[info.key] ?? '');
    return { rows: texts, ordinals: keys, position: keys[keys.length - 1]! };
  }

  async function* pages(table: LegacyTable, options: ReadOptions): AsyncGenerator<LegacyBatch> {
    let after = options.after ?? null;
    for (;;) {
      // A stop request ends the stream quietly; the step commits what it has and the engine exits resumable.
      if (options.signal?.aborted) return;
      const batch = await page(table, options, after);
      if (!batch) return;
      after = batch.position;
      yield batch;
      if (batch.rows.length < options.batchSize || options.unordered) return;
    }
  }

  return {
    kind: 'mysql',
    description,
    async tenants(table) {
      // One id per tenant as the collation groups spellings ('ACME', 'acme ' and 'acme' are one tenant to every legacy
      // query), spelled as the row with the least key spells it: `select distinct` would give whichever spelling the
      // index meets first. The grouping is a loose scan of the (tenantId, key) index; the join reads one row a tenant.
      const { tenantColumn, key } = LEGACY_TABLES[table];
      const [rows] = await pool.query<RowDataPacket[]>(
        `select t.${ident(tenantColumn)} as t from ${ident(table)} t join (select min(${ident(key)}) as k from ${ident(table)} group by ${ident(tenantColumn)}) m on t.${ident(key)} = m.k`,
      );
      return rows
        .map((r) => tenantSpelling(asText(r.t) ?? ''))
        .filter((t) => collationKey(t) !== '')
        .sort();
    },
    async count(table, options) {
      const where = whereClause(table, options);
      const [rows] = await pool.query<RowDataPacket[]>(
        `select count(*) as n from ${ident(table)}${where.sql.length ? ` where ${where.sql.join(' and ')}` : ''}`,
        where.params,
      );
      return Number(rows[0]!.n);
    },
    read: (table, options) => readAheadUnlessOff(pages(table, options), options),
    ranges: keyRangeReader(pool),
    // Offered only when configured (VC_LEGACY_PUSHDOWN=on): S1 1.4 then groups participant events in MariaDB.
    ...(options.pushdown ? { participants: createParticipantPushdown(pool, (o) => whereClause('AuditLog', o), asTextRow) } : {}),
    close: () => pool.end(),
  };
}
