import { describe, expect, it } from 'vitest';
import { makePlan, type KeyRangeSpec } from './plan';
import { itemWork, prerequisites, type SiblingItem } from './split';

const spec = (step: '1.1' | '1.4', index: number, count: number, after: string | null, until: string | null): KeyRangeSpec => ({
  step,
  index,
  count,
  after,
  until,
});
const SPECS = [spec('1.1', 0, 2, null, '100'), spec('1.1', 1, 2, '100', null), spec('1.4', 0, 2, null, '900'), spec('1.4', 1, 2, '900', null)];
const subject = (...tokens: string[]) => `vc.migrate.${tokens.join('.')}`;
const options = { asOf: '2026-11-01T00:00:00.000Z', batchSize: 10, concurrency: 1, maxRejectRate: 0.01, splitLargerThan: 100 };

function siblings(status: Record<string, string> = {}): SiblingItem[] {
  const plan = makePlan('s1', ['acme', 'zeta'], options, subject, new Map([['acme', SPECS]]));
  return plan.items
    .filter((i) => i.tenantId === 'acme')
    .map((i) => ({ itemKey: i.itemKey, status: status[i.itemKey] ?? 'queued', keyRange: (i.keyRange as unknown as Record<string, unknown>) ?? null }));
}

describe('a split plan', () => {
  it('has one item per key range, with its own subject token and message id, then the tenant’s whole-phase item', () => {
    const plan = makePlan('s1', ['zeta', 'acme'], options, subject, new Map([['acme', SPECS]]));
    expect(plan.items.map((i) => [i.itemKey, i.subject])).toEqual([
      ['acme/1.1/0000', 'vc.migrate.s1.acme.1_1-0000'],
      ['acme/1.1/0001', 'vc.migrate.s1.acme.1_1-0001'],
      ['acme/1.4/0000', 'vc.migrate.s1.acme.1_4-0000'],
      ['acme/1.4/0001', 'vc.migrate.s1.acme.1_4-0001'],
      ['acme', 'vc.migrate.s1.acme'],
      ['zeta', 'vc.migrate.s1.zeta'],
    ]);
    expect(new Set(plan.items.map((i) => i.msgId)).size).toBe(plan.items.length);
    // The same inputs are the same plan, message ids included: a second enqueue publishes nothing new.
    expect(makePlan('s1', ['acme', 'zeta'], options, subject, new Map([['acme', SPECS]]))).toEqual(plan);
  });

  it('runs 1.1 ranges at once, 1.4 ranges after every 1.1 range, the whole phase after every range', () => {
    expect(prerequisites(siblings(), 'acme/1.1/0001').pending).toEqual([]);
    expect(prerequisites(siblings(), 'acme/1.4/0000').pending).toEqual(['acme/1.1/0000', 'acme/1.1/0001']);
    expect(prerequisites(siblings({ 'acme/1.1/0000': 'done', 'acme/1.1/0001': 'done' }), 'acme/1.4/0001').pending).toEqual([]);
    expect(prerequisites(siblings({ 'acme/1.1/0000': 'done', 'acme/1.1/0001': 'done' }), 'acme').pending).toEqual(['acme/1.4/0000', 'acme/1.4/0001']);
    expect(prerequisites(siblings({ 'acme/1.1/0001': 'failed' }), 'acme/1.4/0000')).toMatchObject({ failed: 'acme/1.1/0001' });
  });

  it('hands a range item its bounds and checkpoint key, and the whole-phase item every range to take over', () => {
    const plan = makePlan('s1', ['acme'], options, subject, new Map([['acme', SPECS]]));
    expect(itemWork(plan.id, siblings(), 'acme/1.4/0001')).toEqual({
      kind: 'range',
      stepId: '1.4',
      range: { key: `${plan.id}/1.4/0001`, after: '900', until: null },
    });
    const whole = itemWork(plan.id, siblings(), 'acme');
    expect(whole).toEqual({
      kind: 'whole',
      split: {
        ranges: {
          '1.1': [
            { key: `${plan.id}/1.1/0000`, after: null, until: '100' },
            { key: `${plan.id}/1.1/0001`, after: '100', until: null },
          ],
          '1.4': [
            { key: `${plan.id}/1.4/0000`, after: null, until: '900' },
            { key: `${plan.id}/1.4/0001`, after: '900', until: null },
          ],
        },
      },
    });
    expect(itemWork(plan.id, [{ itemKey: 'zeta', status: 'queued', keyRange: null }], 'zeta')).toEqual({ kind: 'whole' });
  });
});
