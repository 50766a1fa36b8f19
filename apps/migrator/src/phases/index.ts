import type { Phase, PhaseId } from '../engine/types';
import { UsageError } from '../engine/errors';

/**
 * Every phase the CLI runs, in plan order, loaded on demand: `phase s1` never loads the FHIR, Kong or
 * access-policy clients that s2–s4 need, so the CLI starts fast.
 */
const LOADERS: Readonly<Record<PhaseId, () => Promise<Phase>>> = {
  s0: async () => (await import('./s0/steps')).s0Phase,
  s1: async () => (await import('./s1/steps')).s1Phase,
  s2: async () => (await import('./s2/steps')).s2Phase,
  s3: async () => (await import('./s3/steps')).s3Phase,
  s4: async () => (await import('./s4/steps')).s4Phase,
};

export const PHASE_IDS = Object.keys(LOADERS) as PhaseId[];

export function isPhaseId(id: string | undefined): id is PhaseId {
  return id !== undefined && (PHASE_IDS as string[]).includes(id);
}

export async function loadPhase(id: string): Promise<Phase> {
  const key = id.toLowerCase();
  if (!isPhaseId(key)) throw new UsageError(`unknown phase ${JSON.stringify(id)} (expected one of ${PHASE_IDS.join(', ')})`);
  return LOADERS[key]();
}

/** All phases, in plan order (help, unknown ids). */
export function loadAllPhases(): Promise<Phase[]> {
  return Promise.all(PHASE_IDS.map((id) => LOADERS[id]()));
}
