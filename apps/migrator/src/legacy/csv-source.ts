import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { ExitError } from '../exit-error';
import { checkedHeader, csvFault, strictUtf8 } from './csv-checks';
import { readAhead } from './read-ahead';
import { LEGACY_TABLES } from './tables';
import type { LegacyBatch, LegacyRow, LegacySource, LegacyTable, ReadOptions } from './types';

/**
 * Legacy CSV export reader (docs/design.md §4): one RFC 4180 file per table, header row, UTF-8 with an optional
 * BOM, CRLF or LF, quoted fields with commas, quotes and newlines, `\N` for NULL. Streams: memory holds
 * one batch and the parser's buffer, whatever the file's size. Positions are record ordinals (1-based,
 * data records only), so a resumed read skips what was committed before.
 */
export function createCsvSource(dir: string): LegacySource {
  function fileOf(table: LegacyTable): string {
    const path = join(dir, `${table}.csv`);
    if (!existsSync(path)) throw new ExitError(2, `legacy CSV export has no ${table}.csv in VC_LEGACY_EXPORT_DIR (${dir})`);
    return path;
  }

  async function* records(table: LegacyTable): AsyncGenerator<LegacyRow> {
    const file = `${table}.csv`;
    let header = false;
    const parser = parse({
      bom: true,
      // By name: a header in another order reads the same.
      columns: (names: string[]) => {
        header = true;
        return checkedHeader(file, names, LEGACY_TABLES[table].columns);
      },
      skip_empty_lines: true,
      relax_column_count: false,
    });
    // pipeline, not pipe: a decoding error must reach the parser (and so the loop below).
    pipeline(createReadStream(fileOf(table)), strictUtf8(file), parser, () => undefined);
    try {
      for await (const record of parser as AsyncIterable<Record<string, string>>) {
        const row: Record<string, string | null> = {};
        for (const [column, value] of Object.entries(record)) row[column] = value === '\\N' ? null : value;
        yield row;
      }
    } catch (error) {
      throw csvFault(file, error);
    }
    if (!header) throw new ExitError(2, `legacy CSV export ${file} is empty (expected a header row with the columns ${LEGACY_TABLES[table].columns.join(', ')})`);
  }

  function matches(table: LegacyTable, row: LegacyRow, options: Pick<ReadOptions, 'tenantId' | 'where'>): boolean {
    if (options.tenantId !== undefined && row[LEGACY_TABLES[table].tenantColumn] !== options.tenantId) return false;
    return (options.where ?? []).every((filter) => filter.in.includes(row[filter.column] ?? ''));
  }

  async function* batches(table: LegacyTable, options: ReadOptions): AsyncGenerator<LegacyBatch> {
    const skip = Number(options.after ?? 0);
    let ordinal = 0;
    let rows: LegacyRow[] = [];
    let ordinals: string[] = [];
    for await (const row of records(table)) {
      ordinal += 1;
      if (ordinal <= skip || !matches(table, row, options)) continue;
      rows.push(row);
      ordinals.push(String(ordinal));
      if (rows.length >= options.batchSize) {
        yield { rows, ordinals, position: String(ordinal) };
        rows = [];
        ordinals = [];
        // A stop request ends the stream quietly; the step commits what it has and the engine exits resumable.
        if (options.signal?.aborted) return;
      }
    }
    if (rows.length > 0) yield { rows, ordinals, position: ordinals[ordinals.length - 1]! };
  }

  return {
    kind: 'csv',
    description: `csv:${dir}`,
    async tenants(table) {
      const seen = new Set<string>();
      for await (const row of records(table)) seen.add(row[LEGACY_TABLES[table].tenantColumn] ?? '');
      return [...seen].filter((t) => t !== '').sort();
    },
    async count(table, options) {
      let n = 0;
      for await (const row of records(table)) if (matches(table, row, options)) n += 1;
      return n;
    },
    read: (table, options) => readAhead(batches(table, options)),
    close: async () => undefined,
  };
}
