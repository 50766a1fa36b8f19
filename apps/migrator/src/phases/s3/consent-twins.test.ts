import { describe, expect, it } from 'vitest';
import type { LegacyBatch, LegacyRow, LegacySource } from '../../legacy/types';
import { rowsKept, settleConsentTwins } from './consent-twins';

/** A source of one batch per row, as a CSV export read with `--batch-size 1` gives them (records 1, 2, …). */
function sourceOf(kind: LegacySource['kind'], rows: LegacyRow[]): LegacySource {
  const batches: LegacyBatch[] = rows.map((row, i) => ({ rows: [row], ordinals: [String(i + 1)], position: String(i + 1) }));
  return {
    kind,
    async *read() {
      yield* batches;
    },
  } as unknown as LegacySource;
}

const row = (id: string, updatedAt: string | null, status = 'granted'): LegacyRow => ({ id, updated_at: updatedAt, status });

describe('settleConsentTwins', () => {
  it('keeps the copy with the later updated_at wherever it sits; a tie keeps the first, or the one not granted; an undated copy loses', async () => {
    const rows = [
      row('1', '2025-06-01 10:00:00'),
      row('1', '2025-04-29 06:59:26'),
      row('2', '2025-04-29 06:59:26'),
      row('2', '2025-06-01 10:00:00'),
      row('3', '2025-06-01 10:00:00'),
      row('3', '2025-06-01 10:00:00'),
      row('4', null),
      row('4', '2020-01-01 00:00:00'),
      row(' 5 ', '2025-06-01 10:00:00'),
      row('6', null),
      // a tie between a grant and a revocation: the revocation stands, whichever is read first
      row('7', '2025-06-01 10:00:00'),
      row('7', '2025-06-01 10:00:00', 'Revoked'),
      row('8', '2025-06-01 10:00:00', 'revoked'),
      row('8', '2025-06-01 10:00:00'),
    ];
    const twins = await settleConsentTwins(sourceOf('csv', rows), 'acme', 1);
    const lost = rows.map((r, i) => twins.lost((r.id ?? '').trim(), String(i + 1)));
    expect(lost).toEqual([false, true, true, false, false, true, true, false, false, false, true, false, false, true]);
    expect(rowsKept(twins, { rows: [rows[1]!], ordinals: ['2'], position: '2' })).toEqual([]);
  });

  it('reads nothing from MySQL, whose primary key cannot repeat', async () => {
    const twins = await settleConsentTwins(sourceOf('mysql', [row('1', '2025-06-01 10:00:00'), row('1', '2025-04-29 06:59:26')]), 'acme', 1);
    expect([twins.lost('1', '1'), twins.lost('1', '2')]).toEqual([false, false]);
  });
});
