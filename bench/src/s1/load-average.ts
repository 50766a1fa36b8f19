/**
 * The 1-minute load average sampled while one tool runs: the box is shared, and a loaded machine slows
 * pgloader more than the migrator, so a ratio counts only when every tool ran on a quiet machine.
 */
import { loadavg } from 'node:os';

/** Above this 1-minute load average (on the 2-core bench box) a measurement is flagged as noisy. */
export const QUIET_LOAD = 1.5;

export interface LoadSample {
  /** Mean of the samples taken during the run. */
  mean: number;
  max: number;
  samples: number;
}

/** Samples `os.loadavg()[0]` every `everyMs` until stopped (and once at start and stop). */
export function sampleLoad(everyMs = 1000): { stop(): LoadSample } {
  const samples: number[] = [];
  const take = (): void => void samples.push(loadavg()[0]!);
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      const round = (n: number) => Number(n.toFixed(2));
      return { mean: round(samples.reduce((a, b) => a + b, 0) / samples.length), max: round(Math.max(...samples)), samples: samples.length };
    },
  };
}

/** Whether a sampled run counts as quiet. */
export const isQuiet = (load: Pick<LoadSample, 'mean'>): boolean => load.mean <= QUIET_LOAD;
