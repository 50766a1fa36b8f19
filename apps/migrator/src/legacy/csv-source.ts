import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { ExitError } from '../exit-error';
import { checkedHeader, csvFault, strictUtf8 } from './csv-checks';
import { readAhead } from './read-ahead';
import { LEGACY_TABLES } from './tables';
import type { LegacyBatch, LegacyRow, LegacySource, LegacyTable, ReadOptions } from './types';

const LINE_BREAK_CHARS = /[\r\n]/g;
const CRLF = /\r\n/g;

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

  /** The rows of a table's file, each with the line its record starts on (a quoted value may span lines). */
  async function* located(table: LegacyTable): AsyncGenerator<{ row: LegacyRow; line: number }> {
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
      info: true,
    });
    // pipeline, not pipe: a decoding error must reach the parser (and so the loop below).
    pipeline(createReadStream(fileOf(table)), strictUtf8(file), parser, () => undefined);
    try {
      // csv-parse's `info.lines` is where a record ends, and it counts a quoted CRLF as two lines: step
      // back over the record's own breaks, and over the CRLFs counted twice in the records before it.
      let doubled = 0;
      for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        const row: Record<string, string | null> = {};
        let counted = 0;
        let crlf = 0;
        for (const [column, value] of Object.entries(record)) {
          row[column] = value === '\\N' ? null : value;
          if (value.length > 0 && (value.includes('\n') || value.includes('\r'))) {
            counted += value.match(LINE_BREAK_CHARS)?.length ?? 0;
            crlf += value.match(CRLF)?.length ?? 0;
          }
        }
        yield { row, line: info.lines - counted - doubled };
        doubled += crlf;
      }
    } catch (error) {
      throw csvFault(file, error);
    }
    if (!header) throw new ExitError(2, `legacy CSV export ${file} is empty (expected a header row with the columns ${LEGACY_TABLES[table].columns.join(', ')})`);
  }

  async function* records(table: LegacyTable): AsyncGenerator<LegacyRow> {
    for await (const { row } of located(table)) yield row;
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
    let locations: string[] = [];
    for await (const { row, line } of located(table)) {
      ordinal += 1;
      if (ordinal <= skip || !matches(table, row, options)) continue;
      rows.push(row);
      ordinals.push(String(ordinal));
      locations.push(`${table}.csv:${line}`);
      if (rows.length >= options.batchSize) {
        yield { rows, ordinals, locations, position: String(ordinal) };
        rows = [];
        ordinals = [];
        locations = [];
        // A stop request ends the stream quietly; the step commits what it has and the engine exits resumable.
        if (options.signal?.aborted) return;
      }
    }
    if (rows.length > 0) yield { rows, ordinals, locations, position: ordinals[ordinals.length - 1]! };
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
