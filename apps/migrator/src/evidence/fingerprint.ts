import { createHash } from 'node:crypto';
import { canonicalJson } from '../ledger/canonical';

/**
 * Order-independent digests of a table's rows, keyed by legacy id. Each row's leaf is the sha256 of its
 * canonical JSON; a set's digest is the sum of its leaves modulo 2^256 (a multiset hash): the same rows
 * give the same digest whatever order they were read in, on either side, and one changed row changes it.
 */
export type Leaves = ReadonlyMap<string, bigint>;

const MODULUS = 1n << 256n;

/** The leaf of one row (its projection, PHI included: only the hash leaves the process). */
export function leafOf(projection: unknown): bigint {
  return BigInt(`0x${createHash('sha256').update(canonicalJson(projection)).digest('hex')}`);
}

function sumOf(leaves: Leaves, keys: readonly string[]): bigint {
  let sum = 0n;
  for (const key of keys) {
    const leaf = leaves.get(key);
    if (leaf !== undefined) sum = (sum + leaf + leafOf(key)) % MODULUS;
  }
  return sum;
}

/** One row's share of a side's sum: its leaf and its key's own hash (so a row on one side only tells). */
export function shareOf(key: string, leaf: bigint): bigint {
  return (leaf + leafOf(key)) % MODULUS;
}

/** `sha256:<hex>` of a side's sum of shares (summed in any order, e.g. while streaming). */
export function digestOfSum(sum: bigint): string {
  return `sha256:${(sum % MODULUS).toString(16).padStart(64, '0')}`;
}

/** `sha256:<hex>` of a whole side: what reports and the evidence pack carry. */
export function digestOf(leaves: Leaves): string {
  return digestOfSum(sumOf(leaves, [...leaves.keys()]));
}

export interface Narrowing {
  /** Legacy ids whose rows differ, are missing on one side, or are extra on the other. */
  differing: string[];
  /** How many key-range digests were compared to find them (a Merkle-style split). */
  rangesCompared: number;
}

/**
 * Narrows a difference by key range: compare the digests of both sides over a range of legacy ids (in
 * sorted order), and split only the ranges that differ, until single ids remain. A healthy table costs
 * one comparison; k altered rows about 2k·log2(n). Stops after `limit` differing ids.
 */
export function narrowDifference(legacy: Leaves, target: Leaves, limit = 100): Narrowing {
  const keys = [...new Set([...legacy.keys(), ...target.keys()])].sort();
  const differing: string[] = [];
  let rangesCompared = 0;
  const visit = (from: number, to: number): void => {
    if (from >= to || differing.length >= limit) return;
    const range = keys.slice(from, to);
    rangesCompared += 1;
    // A key's own hash is summed with its leaf, so a row present on one side only also tells.
    if (sumOf(legacy, range) === sumOf(target, range)) return;
    if (to - from === 1) {
      differing.push(keys[from]!);
      return;
    }
    const middle = from + Math.floor((to - from) / 2);
    visit(from, middle);
    visit(middle, to);
  };
  visit(0, keys.length);
  return { differing, rangesCompared };
}
