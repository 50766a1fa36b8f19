import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../ledger/canonical';
import { digestOf, digestOfSum, leafOf, narrowDifference, shareOf, ShareSum } from './fingerprint';

/** A side of `n` rows keyed by zero-padded legacy ids (so sorted order is numeric order), as validate builds it. */
function side(n: number): Map<string, bigint> {
  const leaves = new Map<string, bigint>();
  for (let i = 0; i < n; i += 1) {
    const id = String(i).padStart(4, '0');
    leaves.set(id, leafOf({ legacyId: id, status: 'ended', practitioner: `p${i % 7}` }));
  }
  return leaves;
}

const altered = (leaves: Map<string, bigint>, ids: readonly string[]) => {
  const copy = new Map(leaves);
  for (const id of ids) copy.set(id, leafOf({ legacyId: id, status: 'cancelled', practitioner: 'edited' }));
  return copy;
};

/** The Merkle-style split's cost bound: the root, then at most two children per level for each differing id. */
const bound = (n: number, k: number) => 1 + 2 * k * Math.ceil(Math.log2(n));

describe('narrowDifference (Merkle-style split by key range)', () => {
  it('equal sides, read in any order, cost one comparison and name nothing', () => {
    const legacy = side(500);
    const reversed = new Map([...legacy].reverse());
    expect(digestOf(reversed)).toBe(digestOf(legacy));
    expect(narrowDifference(legacy, reversed)).toEqual({ differing: [], rangesCompared: 1 });
    expect(narrowDifference(new Map(), new Map())).toEqual({ differing: [], rangesCompared: 0 });
  });

  it('names exactly the rows that differ, among several, in key order, within the split bound', () => {
    const legacy = side(1000);
    const ids = ['0999', '0000', '0417', '0418', '0733'];
    const result = narrowDifference(legacy, altered(legacy, ids));
    expect(result.differing).toEqual([...ids].sort());
    expect(result.rangesCompared).toBeGreaterThan(ids.length);
    expect(result.rangesCompared).toBeLessThanOrEqual(bound(1000, ids.length));
  });

  it('names a row missing on the target side', () => {
    const legacy = side(300);
    const target = new Map(legacy);
    target.delete('0123');
    expect(narrowDifference(legacy, target).differing).toEqual(['0123']);
  });

  it("names a row the target has and legacy does not, even one whose leaf equals another row's", () => {
    const legacy = side(300);
    const target = new Map(legacy);
    target.set('0300', legacy.get('0005')!);
    expect(narrowDifference(legacy, target).differing).toEqual(['0300']);
    // A missing and an extra row at once: both named, nothing else.
    target.delete('0042');
    expect(narrowDifference(legacy, target).differing).toEqual(['0042', '0300']);
  });

  it('stops at the limit: the first ids in key order, fewer comparisons than the whole narrowing', () => {
    const legacy = side(1000);
    const ids = Array.from({ length: 10 }, (_, i) => String(i * 97).padStart(4, '0'));
    const target = altered(legacy, ids);
    const whole = narrowDifference(legacy, target);
    expect(whole.differing).toEqual(ids);
    const limited = narrowDifference(legacy, target, 4);
    expect(limited.differing).toEqual(ids.slice(0, 4));
    expect(limited.rangesCompared).toBeLessThan(whole.rangesCompared);
    expect(narrowDifference(legacy, target, 0)).toEqual({ differing: [], rangesCompared: 0 });
  });
});

describe('ShareSum (a side summed while streaming)', () => {
  it('sums to what adding shareOf(key, leafOf(row)) gives, in any order, past the word-carry threshold', () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ key: String(i * 7919), row: { legacyId: String(i * 7919), note: `é"\\\n${i}` } }));
    const streamed = new ShareSum();
    let expected = 0n;
    for (const { key, row } of rows) {
      streamed.add(JSON.stringify(key), canonicalJson(row));
      expected = (expected + shareOf(key, leafOf(row))) % (1n << 256n);
    }
    expect(streamed.rows).toBe(300);
    expect(digestOfSum(streamed.sum)).toBe(digestOfSum(expected));
    expect(digestOfSum(streamed.sum)).toBe(digestOf(new Map(rows.map(({ key, row }) => [key, leafOf(row)]))));
    const reversed = new ShareSum();
    for (const { key, row } of [...rows].reverse()) reversed.add(JSON.stringify(key), canonicalJson(row));
    expect(reversed.sum).toBe(streamed.sum);
    expect(new ShareSum().sum).toBe(0n);
  });

  it('stays exact over more digests than a double holds word sums for (carried every 2^20)', () => {
    const streamed = new ShareSum();
    const n = (1 << 19) + 3;
    // Each add is two digests: 2^20 + 6 of them, the same row again and again (the worst case for the words).
    for (let i = 0; i < n; i += 1) streamed.add('"k"', '{"a":1}');
    expect(streamed.sum).toBe((BigInt(n) * shareOf('k', leafOf({ a: 1 }))) % (1n << 256n));
  });
});

describe('ShareSum.addByteSums (digests summed byte by byte elsewhere)', () => {
  it('adds what adding each digest gives', () => {
    const rows = ['{"a":1}', '{"b":2}', '{"c":"é"}'];
    const streamed = new ShareSum();
    for (const row of rows) streamed.add('"k"', row);
    const bytes = Array.from({ length: 32 }, () => 0);
    for (const text of [...rows, '"k"', '"k"', '"k"']) {
      const digest = createHash('sha256').update(text).digest();
      for (let j = 0; j < 32; j += 1) bytes[j] = bytes[j]! + digest[j]!;
    }
    const summed = new ShareSum();
    summed.addByteSums(bytes.map(String), 3);
    expect(summed.sum).toBe(streamed.sum);
    expect(summed.rows).toBe(3);
  });
});
