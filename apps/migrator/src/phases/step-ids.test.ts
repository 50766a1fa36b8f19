import { describe, expect, it } from 'vitest';
import { loadAllPhases } from './index';
import { PHASE_STEP_IDS } from './step-ids';

describe('PHASE_STEP_IDS', () => {
  it('lists exactly the steps each phase runs, in order', async () => {
    const phases = await loadAllPhases();
    expect(Object.fromEntries(phases.map((p) => [p.id, p.steps.map((s) => s.id)]))).toEqual(PHASE_STEP_IDS);
  });
});
