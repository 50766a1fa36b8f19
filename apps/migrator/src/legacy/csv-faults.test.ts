import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitError } from '../exit-error';
import { createCsvSource } from './csv-source';
import { LEGACY_TABLES } from './tables';

/** A CSV export's faults (see csv-checks.ts): the file's are an exit-2 error naming file and line; a header in any order reads. */
const COLUMNS = LEGACY_TABLES.VirtualSession.columns;
const row = (id: string, patientRef = `Patient/p-${id}`) =>
  COLUMNS.map((c) => (c === 'id' ? id : c === 'tenantId' ? 'acme' : c === 'patientRef' ? patientRef : c === 'createdAt' ? '2025-05-01 08:00:00' : '\\N')).join(',');

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

async function failure(content: string | Buffer): Promise<ExitError> {
  const error = await readAll(content).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ExitError);
  expect((error as ExitError).exitCode).toBe(2);
  return error as ExitError;
}

describe('legacy CSV export faults', () => {
  it('a header in another order reads by name', async () => {
    const reversed = [...COLUMNS].reverse();
    const line = (id: string) => reversed.map((c) => (c === 'id' ? id : c === 'patientRef' ? `Patient/p-${id}` : c === 'tenantId' ? 'acme' : '\\N')).join(',');
    const rows = await readAll(`${reversed.join(',')}\n${line('1')}\n${line('2')}\n`);
    expect(rows.map((r) => [r.id, r.patientRef, r.tenantId])).toEqual([['1', 'Patient/p-1', 'acme'], ['2', 'Patient/p-2', 'acme']]);
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

  it('a record with a missing field names the file and its line, and quotes no value', async () => {
    const error = await failure(`${COLUMNS.join(',')}\n${row('1')}\n${row('2', 'Patient/secret').replace(',\\N', '')}\n`);
    expect(error.message).toMatch(/VirtualSession\.csv, line 3: the record has more or fewer fields than the header/);
    expect(error.message).not.toContain('secret');
  });

  it('a record with an extra field names the file and its line', async () => {
    const error = await failure(`${COLUMNS.join(',')}\n${row('1')},surplus\n`);
    expect(error.message).toMatch(/VirtualSession\.csv, line 2: the record has more or fewer fields/);
  });

  it('a truncated last line (cut inside a quoted field) names the file and the line', async () => {
    const error = await failure(`${COLUMNS.join(',')}\n${row('1')}\n2,acme,\\N,"Patient/p-`);
    expect(error.message).toMatch(/VirtualSession\.csv, line 3: a quoted field is never closed/);
  });

  it('a truncated last line (cut between fields) names the file and the line', async () => {
    const error = await failure(`${COLUMNS.join(',')}\n${row('1')}\n2,acme,\\N,Patient/p-2`);
    expect(error.message).toMatch(/VirtualSession\.csv, line 3: the record has more or fewer fields/);
  });

  it('bytes that are not UTF-8 name the file and the line, not the bytes', async () => {
    const head = Buffer.from(`${COLUMNS.join(',')}\n${row('1')}\n`, 'utf8');
    const latin1 = Buffer.from(`${row('2', 'Patient/Z\u00fcrich')}\n`, 'latin1');
    const error = await failure(Buffer.concat([head, latin1]));
    expect(error.message).toMatch(/VirtualSession\.csv, line 3: not valid UTF-8/);
  });

  it('a 0-byte file is an error naming the file, not an empty table', async () => {
    const error = await failure('');
    expect(error.message).toMatch(/VirtualSession\.csv is empty \(expected a header row/);
  });
});
