import { describe, expect, it } from 'vitest';
import type { ValidationCheck } from './phase-results';
import { judgeValidation } from './verdicts';

const check = (tenant: string, id: string, status: 'pass' | 'fail'): ValidationCheck => ({ id, tenant, status, samples: [] });

describe('judgeValidation', () => {
  const checks = [
    check('acme', 'sessions.reconciled', 'pass'),
    check('acme', 'configs.migrated', 'pass'),
    check('globex', 'sessions.reconciled', 'pass'),
    check('globex', 'configs.migrated', 'fail'),
  ];

  it('a healthy tenant passing every check and a broken tenant failing one are both as expected', () => {
    expect(judgeValidation({ status: 'fail', checks }, ['acme', 'globex'], ['globex'])).toEqual([
      { tenant: 'acme', brokenOnPurpose: false, passed: true, failingChecks: [], asExpected: true },
      { tenant: 'globex', brokenOnPurpose: true, passed: false, failingChecks: ['configs.migrated'], asExpected: true },
    ]);
  });

  it('a healthy tenant failing a check is not as expected, and names the check', () => {
    const [acme] = judgeValidation({ status: 'fail', checks: [...checks, check('acme', 'encounters.ended_sessions', 'fail')] }, ['acme'], ['globex']);
    expect(acme).toEqual({ tenant: 'acme', brokenOnPurpose: false, passed: false, failingChecks: ['encounters.ended_sessions'], asExpected: false });
  });

  it('a broken tenant that passes is not as expected', () => {
    const [globex] = judgeValidation({ status: 'pass', checks: [check('globex', 'configs.migrated', 'pass')] }, ['globex'], ['globex']);
    expect(globex?.asExpected).toBe(false);
  });

  it('a tenant the report does not mention was not validated, which is never as expected', () => {
    expect(judgeValidation({ status: 'pass', checks }, ['umbrella'], [])).toEqual([
      { tenant: 'umbrella', brokenOnPurpose: false, passed: false, failingChecks: [], asExpected: false },
    ]);
  });
});
