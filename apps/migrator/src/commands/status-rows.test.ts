import { describe, expect, it } from 'vitest';
import { EMPTY_CHECKPOINT } from '../engine/state';
import type { Phase } from '../engine/types';
import { withPendingSteps, type StatusRow } from './status-rows';

const step = (id: string) => ({ id, title: id, run: async () => undefined });
const PHASES: Phase[] = [
  { id: 's0', title: 'bootstrap', global: true, steps: [step('0.1'), step('0.2')] },
  { id: 's1', title: 'data', steps: [step('1.1'), step('1.2')] },
  { id: 's2', title: 'jitsi', steps: [step('2.2')] },
];
const done = (tenantId: string, phase: 's0' | 's1' | 's2', stepId: string): StatusRow => ({
  ...EMPTY_CHECKPOINT,
  status: 'done',
  read: 5,
  tenantId,
  phase,
  stepId,
});
const view = (rows: StatusRow[]) => rows.map((r) => `${r.tenantId} ${r.phase} ${r.stepId} ${r.status}`);

describe('withPendingSteps', () => {
  it('lists every step of every phase for each known tenant in plan order, pending where nothing ran', () => {
    const rows = [done('*', 's0', '0.1'), done('acme', 's1', '1.1'), done('beta', 's2', '2.2')];
    expect(view(withPendingSteps(rows, PHASES))).toEqual([
      '* s0 0.1 done',
      '* s0 0.2 pending',
      'acme s1 1.1 done',
      'acme s1 1.2 pending',
      'acme s2 2.2 pending',
      'beta s1 1.1 pending',
      'beta s1 1.2 pending',
      'beta s2 2.2 done',
    ]);
  });

  it("adds legacy's tenants that have no state yet, every step pending, once each", () => {
    const rows = [done('*', 's0', '0.1'), done('beta', 's1', '1.1')];
    expect(view(withPendingSteps(rows, PHASES, undefined, ['beta', 'acme']))).toEqual([
      '* s0 0.1 done',
      '* s0 0.2 pending',
      'acme s1 1.1 pending',
      'acme s1 1.2 pending',
      'acme s2 2.2 pending',
      'beta s1 1.1 done',
      'beta s1 1.2 pending',
      'beta s2 2.2 pending',
    ]);
  });

  it('shows only the tenant asked for, and keeps a checkpoint of a step no phase declares any more', () => {
    const rows = [done('acme', 's1', '1.1'), done('acme', 's1', '1.9')];
    expect(view(withPendingSteps(rows, PHASES, 'acme'))).toEqual(['acme s1 1.1 done', 'acme s1 1.2 pending', 'acme s2 2.2 pending', 'acme s1 1.9 done']);
  });
});
