import type { Phase } from '../engine/types';
import { ExitError } from '../exit-error';
import { s0Phase } from './s0/steps';
import { s1Phase } from './s1/steps';
import { s2Phase } from './s2/steps';
import { s3Phase } from './s3/steps';
import { s4Phase } from './s4/steps';

/** Every phase the CLI runs, in plan order. */
export const PHASES: readonly Phase[] = [s0Phase, s1Phase, s2Phase, s3Phase, s4Phase];

export function phaseById(id: string): Phase {
  const phase = PHASES.find((p) => p.id === id.toLowerCase());
  if (!phase) throw new ExitError(2, `unknown phase ${JSON.stringify(id)} (expected one of ${PHASES.map((p) => p.id).join(', ')})`);
  return phase;
}
