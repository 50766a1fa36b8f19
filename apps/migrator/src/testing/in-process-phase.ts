import { createDatabase } from '@vc/schema';
import pino from 'pino';
import { loadConfig } from '../config';
import { runPhase, type PhaseSummary } from '../engine/run-phase';
import { createServices } from '../engine/services';
import type { KeyRange, Phase, RunOptions } from '../engine/types';

/** Test support: `phase` with only its step `id` (a plan's item, or one step to cross with another run). */
export const onlyStep = (phase: Phase, id: string): Phase => ({ ...phase, steps: phase.steps.filter((s) => s.id === id) });

/**
 * Test support: a phase run in this process, as a plan's worker runs one: its own database handle and services from
 * `env` (closed after), a silent log. Several can run at once, each with its own connections.
 */
export async function runPhaseHere(
  env: Record<string, string>,
  given: { phase: Phase; tenants: string[]; options: RunOptions; range?: KeyRange },
): Promise<PhaseSummary> {
  const config = loadConfig(env);
  const handle = await createDatabase(env.VC_DATABASE_URL!);
  const services = createServices(config);
  try {
    return await runPhase({
      ...given,
      config,
      handle,
      services,
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      progress: { tty: false, quiet: true },
    });
  } finally {
    await services.close();
    await handle.close();
  }
}
