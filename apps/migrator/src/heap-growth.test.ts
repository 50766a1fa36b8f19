import { describe, expect, it } from 'vitest';
import { boundHeapGrowth, HEAP_GROWING_PERCENT } from './heap-growth';

describe('boundHeapGrowth', () => {
  it('sets the heap growing percent for the process', () => {
    const set: string[] = [];
    expect(boundHeapGrowth([], (flags) => set.push(flags))).toBe(true);
    expect(set).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
  });

  it.each([['--heap-growing-percent=20'], ['--heap_growing_percent=0'], ['--heap-growing-percent']])('leaves an operator’s %s alone', (flag) => {
    const set: string[] = [];
    expect(boundHeapGrowth(['--max-old-space-size=512', flag], (flags) => set.push(flags))).toBe(false);
    expect(set).toEqual([]);
  });
});
