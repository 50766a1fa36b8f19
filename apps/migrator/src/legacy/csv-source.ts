import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { ExitError } from '../exit-error';
import { checkedHeader, csvFault } from './csv-checks';
import { readAheadUnlessOff } from './read-ahead';
import { fieldWithInvalidBytes, rawRecord, splitOpenRecord, tenantCandidates, type RecordFault } from './record-faults';
import { collationKey, collationMatcher, domainMatcher, tenantSpelling } from './matching';
import { LEGACY_TABLES } from './tables';
import type { LegacyBatch, LegacyRow, LegacySource, LegacyTable, ReadOptions } from './types';
import { fromBytes } from './utf8-escape';

const LINE_BREAK_CHARS = /[\r\n]/g;
const DIGITS = /^[0-9]+$/;
const CRLF = /\r\n/g;
const breaks = (text: string) => text.match(LINE_BREAK_CHARS)?.length ?? 0;

/** A record of the file: a row, or a record that is not one (with the tenants it may belong to). */
type Located = { kind: 'row'; row: LegacyRow; line: number } | { kind: 'fault'; fault: RecordFault; tenants: string[] };

/**
 * Legacy CSV export reader (docs/design.md §4): one RFC 4180 file per table, header row, UTF-8 with an optional
 * BOM, CRLF or LF, quoted fields with commas, quotes and newlines, `\N` for NULL. Streams: memory holds
 * one batch and the parser's buffer, whatever the file's size. Positions are record ordinals (1-based,
 * data records only, malformed ones included), so a resumed read skips what was committed before. A
 * malformed record is the batch's fault, not the file's (see record-faults.ts and csv-checks.ts).
 */
export function createCsvSource(dir: string): LegacySource {
  function fileOf(table: LegacyTable): string {
    const path = join(dir, `${table}.csv`);
    if (!existsSync(path)) throw new ExitError(2, `legacy CSV export has no ${table}.csv in VC_LEGACY_EXPORT_DIR (${dir})`);
    return path;
  }

  /** The records of a table's file, each with the line it starts on (a quoted value may span lines). */
  async function* located(table: LegacyTable): AsyncGenerator<Located> {
    const file = `${table}.csv`;
    const { columns: required, tenantColumn } = LEGACY_TABLES[table];
    let header: string[] | undefined;
    let tenantIndex = -1;
    // A record cut inside a quote can only be the last one; any other skipped record is the file's fault.
    let unclosed: { lines: number; raw: string } | undefined;
    let fatal: unknown;
    const parser = parse({
      // Bytes as latin1, each value decoded by fromBytes: a record with bytes that are not UTF-8 is then
      // that record's reject, not the file's. The BOM is dropped from the header below (csv-parse's own
      // `bom` would switch it back to utf8).
      encoding: 'latin1',
      skip_empty_lines: true,
      // Both endings, whatever the first line uses: auto-detection (CRLF from the header) would read a later
      // bare LF as data and merge two records into one malformed record under the wrong line.
      record_delimiter: ['\r\n', '\n'],
      // Every record comes through as its fields, so a wrong count is the record's reject, not the file's stop.
      relax_column_count: true,
      skip_records_with_error: true,
      on_skip: (error: CsvError | undefined, raw: string | undefined) => {
        // After a stray quote csv-parse does not find the next record reliably (it swallows good rows), so that stays the file's fault.
        if (error?.code === 'CSV_QUOTE_NOT_CLOSED' && header) unclosed = { lines: Number(error.lines), raw: fromBytes(raw ?? '') };
        else fatal ??= csvFault(file, error) ?? new ExitError(2, `legacy CSV export ${file}: not RFC 4180 CSV`);
        return undefined;
      },
      info: true,
      raw: true,
    });
    // pipeline, not pipe: a read error must reach the parser (and so the loop below).
    pipeline(createReadStream(fileOf(table)), parser, () => undefined);
    // csv-parse's `info.lines` is where a record ends, and it counts a quoted CRLF as two lines: step
    // back over the record's own breaks, and over the CRLFs counted twice in the records before it.
    let doubled = 0;
    try {
      for await (const { record: bytes, info, raw } of parser as AsyncIterable<{ record: string[]; info: { lines: number }; raw: string }>) {
        if (fatal) throw fatal;
        const record = bytes.map(fromBytes);
        let counted = 0;
        let crlf = 0;
        for (const value of record) {
          if (value.length > 0 && (value.includes('\n') || value.includes('\r'))) {
            counted += breaks(value);
            crlf += value.match(CRLF)?.length ?? 0;
          }
        }
        const line = info.lines - counted - doubled;
        doubled += crlf;
        if (!header) {
          // By name: a header in another order reads the same.
          header = checkedHeader(file, [record[0]!.replace(/^\uFEFF/, ''), ...record.slice(1)], required);
          tenantIndex = header.indexOf(tenantColumn);
          continue;
        }
        const location = `${file}:${line}`;
        if (record.length !== header.length) {
          const detail = `${file}, line ${line}: the record has ${record.length} fields, the header ${header.length} (a stray delimiter or a truncated line shifts the fields after it, so the record is not loaded)`;
          const fault: RecordFault = {
            reason: 'malformed_record',
            location,
            detail,
            raw: rawRecord(file, line, fromBytes(raw), { $fields: record.length, $expected: header.length }),
          };
          yield { kind: 'fault', fault, tenants: tenantCandidates(record, header.length, tenantIndex) };
          continue;
        }
        const notUtf8 = fieldWithInvalidBytes(header, record);
        if (notUtf8 !== undefined) {
          const detail = `${file}, line ${line}: ${notUtf8} holds bytes that are not UTF-8 (expected a UTF-8 export)`;
          yield {
            kind: 'fault',
            fault: { reason: 'invalid_encoding', location, detail, raw: rawRecord(file, line, fromBytes(raw)) },
            tenants: [record[tenantIndex]!],
          };
          continue;
        }
        const row: Record<string, string | null> = {};
        header.forEach((column, i) => (row[column] = record[i] === '\\N' ? null : record[i]!));
        yield { kind: 'row', row, line };
      }
    } catch (error) {
      throw csvFault(file, error);
    }
    if (fatal) throw fatal;
    if (!header) throw new ExitError(2, `legacy CSV export ${file} is empty (expected a header row with the columns ${required.join(', ')})`);
    if (unclosed) {
      const line = unclosed.lines - breaks(unclosed.raw) - doubled;
      const span = unclosed.lines > line ? `lines ${line}–${unclosed.lines}` : `line ${line}`;
      const detail = `${file}, ${span}: a quoted field is never closed (a truncated last line?); from line ${line} to the end of the file is this one record, not loaded`;
      const fault: RecordFault = {
        reason: 'malformed_record',
        location: `${file}:${line}`,
        detail,
        raw: rawRecord(file, line, unclosed.raw, { $lastLine: unclosed.lines }),
      };
      yield { kind: 'fault', fault, tenants: [splitOpenRecord(unclosed.raw)[tenantIndex] ?? ''] };
    }
  }

  async function* records(table: LegacyTable): AsyncGenerator<LegacyRow> {
    for await (const item of located(table)) if (item.kind === 'row') yield item.row;
  }

  /** The rows `options` select, compared as `ReadOptions` says (and as the MySQL reader's SQL compares). */
  function matcher(table: LegacyTable, options: Pick<ReadOptions, 'tenantId' | 'where' | 'apart'>): (row: LegacyRow) => boolean {
    const tenantColumn = LEGACY_TABLES[table].tenantColumn;
    const tenant = options.tenantId === undefined ? undefined : collationKey(options.tenantId);
    const filters = (options.where ?? []).map((f) => ({
      column: f.column,
      meets: (f.collated ? collationMatcher : domainMatcher)(f.in),
      collated: collationMatcher(f.in),
    }));
    const { notDigits, uncollated = [] } = options.apart ?? {};
    const apart = filters.filter((f) => uncollated.includes(f.column));
    return (row) => {
      if (tenant !== undefined && collationKey(row[tenantColumn]) !== tenant) return false;
      if (!filters.every((f) => f.meets(row[f.column] ?? ''))) return false;
      if (!options.apart) return true;
      if (notDigits !== undefined && !DIGITS.test(row[notDigits] ?? '')) return true;
      return apart.some((f) => !f.collated(row[f.column] ?? ''));
    };
  }

  async function* batches(table: LegacyTable, options: ReadOptions): AsyncGenerator<LegacyBatch> {
    const file = `${table}.csv`;
    if (options.until !== undefined && options.until !== null)
      throw new Error(`${file}: a CSV export cannot be read by key range (a split tenant's item needs the legacy database, VC_LEGACY_DATABASE_URL)`);
    const skip = Number(options.after ?? 0);
    const matches = matcher(table, options);
    const tenant = options.tenantId === undefined ? undefined : collationKey(options.tenantId);
    let ordinal = 0;
    let next: LegacyBatch = { rows: [], ordinals: [], locations: [], faults: [], position: '' };
    // Tenants of the file's rows, and malformed records no tenant read so far owned: one that no tenant of
    // the file can own would be dropped by every tenant's run, so it stops the read instead.
    const tenants = new Set<string>();
    const unowned: Array<{ location: string; tenants: string[] }> = [];
    for await (const item of located(table)) {
      ordinal += 1;
      if (item.kind === 'row') {
        tenants.add(collationKey(item.row[LEGACY_TABLES[table].tenantColumn]));
        if (ordinal <= skip || !matches(item.row)) continue;
        next.rows.push(item.row);
        next.ordinals.push(String(ordinal));
        next.locations!.push(`${file}:${item.line}`);
      } else {
        // A malformed record's other columns cannot be trusted, so the `where` filter does not apply to it.
        if (tenant !== undefined && !item.tenants.some((t) => collationKey(t) === tenant)) {
          unowned.push({ location: item.fault.location, tenants: item.tenants });
          continue;
        }
        if (ordinal <= skip) continue;
        next.faults!.push(item.fault);
      }
      next.position = String(ordinal);
      if (next.rows.length + next.faults!.length >= options.batchSize) {
        yield next;
        next = { rows: [], ordinals: [], locations: [], faults: [], position: '' };
        // A stop request ends the stream quietly; the step commits what it has and the engine exits resumable.
        if (options.signal?.aborted) return;
      }
    }
    if (next.rows.length + next.faults!.length > 0) yield next;
    const nobodys = unowned.find((u) => !u.tenants.some((t) => tenants.has(collationKey(t))));
    if (nobodys) {
      const [, line] = nobodys.location.split(':');
      throw new ExitError(
        2,
        `legacy CSV export ${file}, line ${line}: a malformed record whose ${LEGACY_TABLES[table].tenantColumn} names no tenant of the file, so no tenant's run can reject it; fix or remove it and run again`,
      );
    }
  }

  return {
    kind: 'csv',
    description: `csv:${dir}`,
    async tenants(table) {
      // One id per tenant as MariaDB's `=` tells tenants apart (so a run reads the same rows from either source),
      // spelled as its first row spells it: an export is in key order, and MariaDB's listing takes the least key's.
      const spelling = new Map<string, string>();
      for await (const row of records(table)) {
        const id = row[LEGACY_TABLES[table].tenantColumn] ?? '';
        const key = collationKey(id);
        if (!spelling.has(key)) spelling.set(key, tenantSpelling(id));
      }
      spelling.delete('');
      return [...spelling.values()].sort();
    },
    async count(table, options) {
      const matches = matcher(table, options);
      let n = 0;
      for await (const row of records(table)) if (matches(row)) n += 1;
      return n;
    },
    read: (table, options) => readAheadUnlessOff(batches(table, options), options),
    close: async () => undefined,
  };
}
