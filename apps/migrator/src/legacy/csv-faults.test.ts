import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitError } from '../exit-error';
import { createCsvSource } from './csv-source';
import type { RecordFault } from './record-faults';
import { LEGACY_TABLES } from './tables';

/**
 * A CSV export's faults (see csv-checks.ts, record-faults.ts): the file's are an exit-2 error naming file and
 * line; a record's are that record's fault (one reject), the rest of the file reads; a header in any order reads.
 */
const COLUMNS = LEGACY_TABLES.VirtualSession.columns;
const row = (id: string, patientRef = `Patient/p-${id}`) =>
  COLUMNS.map((c) => (c === 'id' ? id : c === 'tenantId' ? 'acme' : c === 'patientRef' ? patientRef : c === 'createdAt' ? '2025-05-01 08:00:00' : '\\N')).join(
    ',',
  );

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-csv-faults-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(content: string | Buffer): Promise<Array<Record<string, string | null>>> {
  await writeFile(join(dir, 'VirtualSession.csv'), content);
  const rows: Array<Record<string, string | null>> = [];
  for await (const batch of createCsvSource(dir).read('VirtualSession', { batchSize: 2 })) rows.push(...batch.rows);
  return rows;
}

async function readWithFaults(content: string | Buffer, tenantId?: string): Promise<{ rows: Array<Record<string, string | null>>; faults: RecordFault[] }> {
  await writeFile(join(dir, 'VirtualSession.csv'), content);
  const out = { rows: [] as Array<Record<string, string | null>>, faults: [] as RecordFault[] };
  for await (const batch of createCsvSource(dir).read('VirtualSession', { batchSize: 2, ...(tenantId ? { tenantId } : {}) })) {
    out.rows.push(...batch.rows);
    out.faults.push(...(batch.faults ?? []));
  }
  return out;
}

async function failure(content: string | Buffer): Promise<ExitError> {
  const error = await readAll(content).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExitError);
  expect((error as ExitError).exitCode).toBe(2);
  return error as ExitError;
}

describe('legacy CSV export faults', () => {
  it('a header in another order reads by name', async () => {
    const reversed = [...COLUMNS].reverse();
    const line = (id: string) => reversed.map((c) => (c === 'id' ? id : c === 'patientRef' ? `Patient/p-${id}` : c === 'tenantId' ? 'acme' : '\\N')).join(',');
    const rows = await readAll(`${reversed.join(',')}\n${line('1')}\n${line('2')}\n`);
    expect(rows.map((r) => [r.id, r.patientRef, r.tenantId])).toEqual([
      ['1', 'Patient/p-1', 'acme'],
      ['2', 'Patient/p-2', 'acme'],
    ]);
  });

  it('a header with an extra column reads, and the extra column is carried along unused', async () => {
    const rows = await readAll(`${COLUMNS.join(',')},exportedBy\n${row('1')},nightly\n`);
    expect(rows.map((r) => [r.id, r.exportedBy])).toEqual([['1', 'nightly']]);
  });

  it('a header missing a column the table needs names the file and the column', async () => {
    const without = COLUMNS.filter((c) => c !== 'patientRef');
    const error = await failure(`${without.join(',')}\n${without.map(() => 'x').join(',')}\n`);
    expect(error.message).toMatch(/VirtualSession\.csv: the header lacks column\(s\) patientRef/);
  });

  it('a record with a missing field is one malformed_record fault naming file and line, the rest of the file reads', async () => {
    const { rows, faults } = await readWithFaults(`${COLUMNS.join(',')}\n${row('1')}\n${row('2', 'Patient/secret').replace(',\\N', '')}\n${row('3')}\n`);
    expect(rows.map((r) => r.id)).toEqual(['1', '3']);
    expect(faults.map((f) => [f.reason, f.location])).toEqual([['malformed_record', 'VirtualSession.csv:3']]);
    expect(faults[0]!.detail).toMatch(/VirtualSession\.csv, line 3: the record has 15 fields, the header 16/);
    expect(faults[0]!.detail).not.toContain('secret');
    // The raw record goes to the reject table whole (not shifted into columns).
    expect(faults[0]!.raw).toMatchObject({ $file: 'VirtualSession.csv', $line: 3, $fields: 15, $expected: 16 });
    expect(String(faults[0]!.raw.$record)).toContain('Patient/secret');
  });

  it('CRLF and LF line ends mixed in one file (rows appended by another tool) each end a record, lines stay right', async () => {
    const header = COLUMNS.join(',');
    const { rows, faults } = await readWithFaults(
      `${header}\r\n${row('1')}\r\n${row('2')}\n${row('3')}\n${row('4').replace(',acme,', ',acme,x,')}\n${row('5')}\r\n`,
    );
    expect(rows.map((r) => r.id)).toEqual(['1', '2', '3', '5']);
    expect(faults.map((f) => [f.reason, f.location])).toEqual([['malformed_record', 'VirtualSession.csv:5']]);
  });

  it('a stray delimiter (an extra field) is rejected whole, never loaded shifted', async () => {
    const { rows, faults } = await readWithFaults(`${COLUMNS.join(',')}\n${row('1', 'Patient/a,b')}\n${row('2')}\n`);
    expect(rows.map((r) => r.id)).toEqual(['2']);
    expect(faults.map((f) => [f.reason, f.location])).toEqual([['malformed_record', 'VirtualSession.csv:2']]);
  });

  it('a truncated last line (cut inside a quoted field) is one malformed_record fault naming its line', async () => {
    const { rows, faults } = await readWithFaults(`${COLUMNS.join(',')}\n${row('1')}\n2,acme,\\N,"Patient/p-`);
    expect(rows.map((r) => r.id)).toEqual(['1']);
    expect(faults.map((f) => [f.reason, f.location])).toEqual([['malformed_record', 'VirtualSession.csv:3']]);
    expect(faults[0]!.detail).toMatch(/line 3: a quoted field is never closed/);
  });

  it('a truncated last line (cut between fields) is one malformed_record fault', async () => {
    const { rows, faults } = await readWithFaults(`${COLUMNS.join(',')}\n${row('1')}\n2,acme,\\N,Patient/p-2`);
    expect(rows.map((r) => r.id)).toEqual(['1']);
    expect(faults.map((f) => [f.reason, f.location])).toEqual([['malformed_record', 'VirtualSession.csv:3']]);
  });

  it('a record whose bytes are not UTF-8 is one invalid_encoding fault naming the field; its bytes kept escaped', async () => {
    const head = Buffer.from(`${COLUMNS.join(',')}\n${row('1')}\n`, 'utf8');
    const latin1 = Buffer.from(`${row('2', 'Patient/Z\u00fcrich')}\n`, 'latin1');
    const tail = Buffer.from(`${row('3', 'Patient/\u00e9\u{1F600}')}\n`, 'utf8');
    const { rows, faults } = await readWithFaults(Buffer.concat([head, latin1, tail]));
    expect(rows.map((r) => [r.id, r.patientRef])).toEqual([
      ['1', 'Patient/p-1'],
      ['3', 'Patient/\u00e9\u{1F600}'],
    ]);
    expect(faults.map((f) => [f.reason, f.location])).toEqual([['invalid_encoding', 'VirtualSession.csv:3']]);
    expect(faults[0]!.detail).toMatch(/VirtualSession\.csv, line 3: patientRef holds bytes that are not UTF-8/);
    expect(faults[0]!.raw.$record).toContain('Patient/Z\\xFCrich');
  });

  it('a multi-byte character split across read chunks is not a fault', async () => {
    const big = 'x'.repeat(64 * 1024 - 3);
    const { rows, faults } = await readWithFaults(`${COLUMNS.join(',')}\n${row('1', `Patient/${big}\u00e9\u20ac`)}\n`);
    expect(faults).toEqual([]);
    expect(rows[0]!.patientRef).toBe(`Patient/${big}\u00e9\u20ac`);
  });

  it("a malformed record of another tenant is not this tenant's; one no tenant of the file can own stops the read (exit 2)", async () => {
    const other = row('2').replace(',acme,', ',globex,');
    const { faults } = await readWithFaults(`${COLUMNS.join(',')}\n${row('1')}\n${other},surplus\n${other.replace('2,', '4,')}\n`, 'acme');
    expect(faults).toEqual([]);
    const error = await readWithFaults(`${COLUMNS.join(',')}\n${row('1')}\nnobody,knows\n`, 'acme').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExitError);
    expect((error as ExitError).message).toMatch(/VirtualSession\.csv, line 3: a malformed record whose tenantId names no tenant of the file/);
  });

  it("a quote after a closing quote stays the file's fault (csv-parse cannot find the next record after it)", async () => {
    const error = await failure(`${COLUMNS.join(',')}\n${row('1', '"Patient/p"1')}\n${row('2')}\n`);
    expect(error.message).toMatch(/VirtualSession\.csv, line 2: a quote inside an unquoted field or after a closing quote/);
  });

  it('a 0-byte file is an error naming the file, not an empty table', async () => {
    const error = await failure('');
    expect(error.message).toMatch(/VirtualSession\.csv is empty \(expected a header row/);
  });
});
