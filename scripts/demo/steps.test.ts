import { describe, expect, it } from 'vitest';
import { singleJsonObject } from './migrator';
import type { PhaseSummary, StepReport } from './phase-results';
import { checkOnlyBrokenFailed, DemoFailure } from './steps';

const step = (tenant: string, id: string, status: string): StepReport => ({ id, tenant, status, read: 1, written: 1, rejected: 0, deferred: 0, warnings: 0 });
const summary = (steps: StepReport[], errors: PhaseSummary['errors'] = []): PhaseSummary => ({
  phase: 's2',
  status: errors.length ? 'failed' : 'done',
  steps,
  rejects: {},
  warnings: {},
  errors,
});

describe('checkOnlyBrokenFailed', () => {
  it('accepts a phase where only a tenant broken on purpose failed', () => {
    const s = summary(
      [step('acme', '2.2', 'done'), step('acme', '2.3', 'skipped'), step('globex', '2.2', 'failed')],
      [{ tenant: 'globex', step: '2.2', message: 'no migrated Jitsi config' }],
    );
    expect(() => checkOnlyBrokenFailed(s, ['globex'])).not.toThrow();
  });

  it('fails the demo when a healthy tenant failed, naming tenant, step and cause', () => {
    const s = summary([step('acme', '2.4', 'failed')], [{ tenant: 'acme', step: '2.4', message: '1 gap(s)' }]);
    expect(() => checkOnlyBrokenFailed(s, ['globex'])).toThrow(
      new DemoFailure('phase s2 did not finish for a healthy tenant: acme 2.4: 1 gap(s); acme 2.4 failed'),
    );
  });

  it('fails the demo when a healthy tenant was interrupted without an error', () => {
    expect(() => checkOnlyBrokenFailed(summary([step('initech', '2.3', 'interrupted')]), ['globex'])).toThrow('initech 2.3 interrupted');
  });
});

describe('singleJsonObject', () => {
  it('reads the one JSON object --json prints', () => {
    expect(singleJsonObject('{\n  "phase": "s1",\n  "status": "done"\n}\n')).toEqual({ phase: 's1', status: 'done' });
  });

  it('is undefined when stdout holds no single JSON object', () => {
    expect(singleJsonObject('')).toBeUndefined();
    expect(singleJsonObject('{"a":1}\n{"b":2}\n')).toBeUndefined();
    expect(singleJsonObject('[1]')).toBeUndefined();
  });
});
