import { describe, expect, it } from 'vitest';
import type { LegacyBatch, LegacyRow, LegacySource } from '../../legacy/types';
import { billingTwins, BillingTwins } from './billing-twins';

/** A source of `perBatch` rows a batch, records 1, 2, … as a CSV export numbers them; `after` skips as the reader does. */
function sourceOf(kind: LegacySource['kind'], rows: LegacyRow[], perBatch = 1): LegacySource & { reads: number } {
  const source = {
    kind,
    reads: 0,
    async *read(_table: string, options: { after?: string | null }) {
      source.reads += 1;
      const skip = Number(options.after ?? 0);
      for (let start = skip; start < rows.length; start += perBatch) {
        const slice = rows.slice(start, start + perBatch);
        const ordinals = slice.map((_, i) => String(start + i + 1));
        yield { rows: slice, ordinals, position: ordinals[ordinals.length - 1]! } satisfies LegacyBatch;
      }
    },
  };
  return source as unknown as LegacySource & { reads: number };
}

const bill = (id: string, ok = true): LegacyRow => ({ id, occurredAt: ok ? '2026-10-01 10:00:00' : 'soon' });
const canCarry = (row: LegacyRow) => row.occurredAt !== 'soon';

describe('BillingTwins', () => {
  it("the id's first record claims it; the same record again still does, another record of the id does not", () => {
    const twins = new BillingTwins(true);
    expect([twins.claims('1', '1'), twins.claims('2', '2'), twins.claims('1', '3'), twins.claims('1', '1'), twins.claims('1', '4')]).toEqual([
      true,
      true,
      false,
      true,
      false,
    ]);
  });

  it('keeps nothing for MySQL, whose primary key cannot repeat', async () => {
    const source = sourceOf('mysql', [bill('1'), bill('1')]);
    const twins = await billingTwins(source, 'acme', { after: '1', batchSize: 1 }, canCarry);
    expect([twins.claims('1', '1'), twins.claims('1', '2')]).toEqual([true, true]);
    expect(source.reads).toBe(0);
  });

  it('a fresh pass reads nothing ahead; a resumed one claims the records up to its cursor as its committed batches did', async () => {
    // Record 1 cannot be carried (no occurredAt), so record 2 is the bill of id 1, record 5 its twin; record 6 is id 3's twin.
    const rows = [bill('1', false), bill('1'), bill('2'), bill('3'), bill('1'), bill('3')];
    const fresh = sourceOf('csv', rows, 2);
    await billingTwins(fresh, 'acme', { after: null, batchSize: 2 }, canCarry);
    expect(fresh.reads).toBe(0);

    // Committed batches ended at record 3; the prefix is read by ordinal, so a batch of another size reads the same
    // records (2 a batch: record 4 comes in the prefix's last batch, past the cursor: it claims nothing there).
    for (const perBatch of [1, 2, 4]) {
      const resumed = await billingTwins(sourceOf('csv', rows, perBatch), 'acme', { after: '3', batchSize: perBatch }, canCarry);
      expect([resumed.claims('3', '4'), resumed.claims('1', '5'), resumed.claims('3', '6'), resumed.claims('2', '3')]).toEqual([true, false, false, true]);
    }
  });
});
