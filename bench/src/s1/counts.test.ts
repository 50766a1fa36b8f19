import { describe, expect, it } from 'vitest';
import type { ExpectedCounts } from '@vc/fixtures';
import { countMismatches } from './counts';
import type { StepSummary } from './migrator';

const EXPECTED: ExpectedCounts = {
  asOf: '2026-11-01T00:00:00.000Z',
  legacyMasterKey: 'k',
  tenants: {
    acme: {
      sessions: {
        legacy: 10,
        loaded: 7,
        deferred: 1,
        rejected: { missing_patient: 1, invalid_datetime: 1 },
        warnings: {},
        byStatus: { ended: 5, cancelled: 2 },
      },
      participants: { loaded: 9, rejectedEvents: { orphan_event: 3 }, warnings: {} },
      config: { loaded: true, warnings: {} },
      consents: { legacy: 0, active: 0, inactive: 0, rejected: {} },
    },
  },
};
const step = (id: string, written: number, rejected: number, deferred = 0): StepSummary => ({
  id,
  tenant: 'acme',
  status: 'done',
  read: 0,
  written,
  rejected,
  deferred,
  durationMs: 1,
});

describe('countMismatches', () => {
  it('finds nothing when the summary matches the expected counts', () => {
    expect(countMismatches(EXPECTED, [step('1.1', 7, 2, 1), step('1.3', 1, 0), step('1.4', 9, 3)])).toEqual([]);
  });

  it('names the tenant, step, field and both values of each disagreement', () => {
    expect(countMismatches(EXPECTED, [step('1.1', 7, 2, 0), step('1.3', 1, 0)])).toEqual([
      'acme 1.1 deferred: expected 1, got 0',
      'acme 1.4 written: expected 9, got undefined',
      'acme 1.4 rejected: expected 3, got undefined',
    ]);
  });
});
