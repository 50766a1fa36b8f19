import { describe, expect, it } from 'vitest';
import { buildBillingEvent } from './billing-event';

const startedAt = new Date('2026-03-01T10:00:00.000Z');
const endedAt = new Date('2026-03-01T10:20:00.000Z');

describe('buildBillingEvent', () => {
  it.each([
    [{ placeOfService: '02', modifier: '95' }, '02', '95'],
    [{ placeOfService: '10', modifier: null }, '10', null],
    [{ placeOfService: '10', modifier: '95' }, '10', '95'],
    [null, '02', '95'],
  ] as const)('tenant billing %o bills POS %s with modifier %s, one unit of 99213 at the end', (rules, pos, modifier) => {
    expect(buildBillingEvent({ startedAt, endedAt }, rules)).toEqual({ code: '99213', modifier, placeOfService: pos, units: 1, occurredAt: endedAt });
  });

  it('bills nothing for a session that never started', () => {
    expect(buildBillingEvent({ startedAt: null, endedAt }, { placeOfService: '02', modifier: '95' })).toBeNull();
  });
});
