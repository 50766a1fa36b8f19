import type { PhaseId } from '../engine/types';

/**
 * The step ids of each phase, in plan order, for what must know them without loading a phase's steps (and
 * their clients): the gates. phases/step-ids.test.ts keeps this list equal to the phases' own.
 */
export const PHASE_STEP_IDS: Readonly<Record<PhaseId, readonly string[]>> = {
  s0: ['0.1', '0.2', '0.3'],
  s1: ['1.1', '1.2', '1.3', '1.4', '1.5'],
  s2: ['2.2', '2.3', '2.4'],
  s3: ['3.1', '3.2', '3.3'],
  s4: ['4.1', '4.2', '4.3'],
};
