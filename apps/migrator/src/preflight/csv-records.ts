import { createCsvSource } from '../legacy/csv-source';
import type { LegacyTable } from '../legacy/types';

/** Lines named per file: enough to find them, short enough for one line of output. */
const LINES_SHOWN = 5;

export interface MalformedInFile {
  file: string;
  count: number;
  /** `file:line` of the first few (never the record: it may be PHI). */
  first: string[];
}

/**
 * The malformed records of a CSV export (wrong field count, an unclosed quote, bytes not UTF-8), per
 * file, every tenant's: the records the phases will reject as `malformed_record` / `invalid_encoding`.
 * Read with the phases' own reader, so preflight counts exactly what they will reject.
 */
export async function malformedRecords(dir: string, tables: readonly LegacyTable[]): Promise<MalformedInFile[]> {
  const source = createCsvSource(dir);
  const found: MalformedInFile[] = [];
  for (const table of tables) {
    const entry: MalformedInFile = { file: `${table}.csv`, count: 0, first: [] };
    for await (const batch of source.read(table, { batchSize: 1000 })) {
      for (const fault of batch.faults ?? []) {
        entry.count += 1;
        if (entry.first.length < LINES_SHOWN) entry.first.push(fault.location);
      }
    }
    if (entry.count > 0) found.push(entry);
  }
  return found;
}

/** The warning a contract check's reason carries; empty when every record is well-formed. */
export function malformedWarning(found: readonly MalformedInFile[]): string {
  if (found.length === 0) return '';
  const total = found.reduce((n, f) => n + f.count, 0);
  const files = found.map((f) => `${f.file} ${f.count} (${f.first.join(', ')}${f.count > f.first.length ? ', …' : ''})`).join('; ');
  return `; warning: ${total} malformed record(s), each to be one reject (malformed_record / invalid_encoding) of the phase reading it, not loaded: ${files}`;
}
