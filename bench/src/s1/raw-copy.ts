/**
 * The ceiling: the same legacy rows streamed out of MariaDB and `COPY`ed into PostgreSQL as text,
 * with no mapping, no checkpoints and no indexes. Tables are moved concurrently, one stream each.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LegacyTableSpec } from '@vc/fixtures';
import mysql from 'mysql2';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

// COPY's text format: backslash escapes, \N for NULL.
function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function toCopyText(): Transform {
  let pending = '';
  return new Transform({
    writableObjectMode: true,
    transform(row: unknown[], _encoding, done) {
      pending += row.map(copyField).join('\t') + '\n';
      if (pending.length > 1 << 16) {
        const chunk = pending;
        pending = '';
        done(null, chunk);
      } else done();
    },
    flush(done) {
      done(null, pending);
    },
  });
}

async function copyTable(mysqlUrl: string, pgUrl: string, database: string, spec: LegacyTableSpec): Promise<number> {
  const target = new pg.Client({ connectionString: pgUrl });
  await target.connect();
  const source = mysql.createConnection({ uri: mysqlUrl, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: 'utf8mb4' });
  try {
    const table = pg.escapeIdentifier(`raw_${spec.name}`);
    await target.query(`DROP TABLE IF EXISTS ${table}`);
    await target.query(`CREATE TABLE ${table} (${spec.columns.map((c) => `${pg.escapeIdentifier(c)} text`).join(', ')})`);
    let rows = 0;
    const counted = new Transform({
      objectMode: true,
      transform(row: unknown[], _e, done) {
        rows++;
        done(null, row);
      },
    });
    const query = source.query({ sql: `SELECT * FROM ${mysql.escapeId(database)}.${mysql.escapeId(spec.name)}`, rowsAsArray: true });
    await pipeline(query.stream({ highWaterMark: 10_000 }), counted, toCopyText(), target.query(copyFrom(`COPY ${table} FROM STDIN`)));
    return rows;
  } finally {
    source.destroy();
    await target.end();
  }
}

/** Moves the tables; returns rows moved per table. */
export async function rawCopy(mysqlUrl: string, pgUrl: string, database: string, tables: readonly LegacyTableSpec[]): Promise<Record<string, number>> {
  const counts = await Promise.all(tables.map((spec) => copyTable(mysqlUrl, pgUrl, database, spec)));
  return Object.fromEntries(tables.map((spec, i) => [spec.name, counts[i]!]));
}
