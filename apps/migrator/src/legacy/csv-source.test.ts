import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapLegacySession, type LegacyVirtualSession } from '@vc/domain/legacy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsvSource } from './csv-source';
import type { LegacyBatch } from './types';

const HEADER =
  'id,tenantId,externalId,patientRef,practitionerRef,scheduledStart,scheduledEnd,startedAt,endedAt,status,videoBackend,roomName,cancelReason,encounterRef,createdAt,updatedAt';
// One row per quirk of real exports (docs/design.md §4), CRLF line ends and a leading BOM.
const ROWS = [
  '1,acme,\\N,Patient/p-1,Practitioner/d-1,2025-06-01 10:00:00,2025-06-01 10:30:00,2025-06-01 10:01:00.123,2025-06-01 10:29:00,completed,jitsi,"room, with comma",\\N,\\N,2025-05-01 08:00:00,2025-06-01 10:29:00',
  '2,acme,\\N,Patient/p-2,\\N,0000-00-00 00:00:00,\\N,\\N,\\N,cancelled,\\N,\\N,"said ""no"",\r\nthen left",\\N,2025-05-02 08:00:00,2025-05-02 08:00:00',
  '3,globex,\\N,Patient/p-3,\\N,2025-06-03 10:00:00,\\N,\\N,\\N,no_show,zoom,Zürich – Ärztehaus 東京,\\N,\\N,2025-05-03 08:00:00,2025-05-03 08:00:00',
  '4,acme,\\N,"",\\N,2025-06-04 10:00:00,\\N,\\N,\\N,ended,\\N,\\N,\\N,\\N,2025-05-04 08:00:00,2025-05-04 08:00:00',
];

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-csv-'));
  await writeFile(join(dir, 'VirtualSession.csv'), `\uFEFF${HEADER}\r\n${ROWS.join('\r\n')}\r\n`, 'utf8');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function all(iterable: AsyncIterable<LegacyBatch>): Promise<LegacyBatch[]> {
  const out: LegacyBatch[] = [];
  for await (const batch of iterable) out.push(batch);
  return out;
}

describe('legacy CSV export reader', () => {
  it('reads through a BOM, CRLF, quoted commas, doubled quotes, quoted newlines, \\N and non-ASCII text', async () => {
    const [batch] = await all(createCsvSource(dir).read('VirtualSession', { tenantId: 'acme', batchSize: 10 }));
    expect(batch!.rows.map((r) => [r.id, r.roomName, r.cancelReason, r.externalId])).toEqual([
      ['1', 'room, with comma', null, null],
      ['2', null, 'said "no",\r\nthen left', null],
      ['4', null, null, null],
    ]);
    expect(Object.keys(batch!.rows[0]!)[0]).toBe('id');
    // The line each record starts on (row 2's value spans two lines), as rejects name it.
    expect(batch!.locations).toEqual(['VirtualSession.csv:2', 'VirtualSession.csv:3', 'VirtualSession.csv:6']);
  });

  it('keeps non-ASCII text intact', async () => {
    const [batch] = await all(createCsvSource(dir).read('VirtualSession', { tenantId: 'globex', batchSize: 10 }));
    expect(batch!.rows[0]!.roomName).toBe('Zürich – Ärztehaus 東京');
  });

  it('maps the zero date to NULL and an empty patientRef to a missing_patient reject', async () => {
    const [batch] = await all(createCsvSource(dir).read('VirtualSession', { tenantId: 'acme', batchSize: 10 }));
    const mapped = batch!.rows.map((r) => mapLegacySession(r as unknown as LegacyVirtualSession, { asOf: new Date('2026-01-01T00:00:00Z'), tenantId: 'acme' }));
    expect(mapped[1]).toMatchObject({ kind: 'load', session: { scheduledStart: null, status: 'cancelled', cancelReason: 'said "no",\r\nthen left' } });
    expect(mapped[2]).toMatchObject({ kind: 'reject', reason: 'missing_patient' });
  });

  it('batches carry record ordinals, and a read resumed after a position skips exactly what came before', async () => {
    const source = createCsvSource(dir);
    const batches = await all(source.read('VirtualSession', { batchSize: 2 }));
    expect(batches.map((b) => [b.ordinals, b.position])).toEqual([
      [['1', '2'], '2'],
      [['3', '4'], '4'],
    ]);
    const resumed = await all(source.read('VirtualSession', { batchSize: 2, after: '2' }));
    expect(resumed.flatMap((b) => b.rows.map((r) => r.id))).toEqual(['3', '4']);
  });

  it('lists tenants and counts rows', async () => {
    const source = createCsvSource(dir);
    expect([await source.tenants('VirtualSession'), await source.count('VirtualSession', { tenantId: 'acme' })]).toEqual([['acme', 'globex'], 3]);
  });

  it('names the missing file and the variable when a table is absent from the export', async () => {
    await expect(all(createCsvSource(dir).read('AuditLog', { batchSize: 1 }))).rejects.toThrow(/no AuditLog\.csv in VC_LEGACY_EXPORT_DIR/);
  });
});
