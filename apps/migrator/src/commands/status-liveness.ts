import { hostname } from 'node:os';
import { pidAlive } from '@vc/schema';
import { HEARTBEAT_MS } from '../engine/state';
import type { RunLiveness } from '../engine/state';

/** A run that has not beaten for this long is stale: its process died, hangs, or lost its database. */
export const STALE_AFTER_MS = 6 * HEARTBEAT_MS;

/** The run a `running` checkpoint belongs to, as `vc_migration.runs` has it. */
export type RunRow = RunLiveness;

/** How a `running` checkpoint really stands. */
export interface Liveness {
  state: 'running' | 'stale' | 'interrupted';
  host: string | null;
  pid: number | null;
  heartbeatAgeS: number | null;
  /** Why it is stale or interrupted. */
  why?: string;
}

/**
 * A checkpoint saved `running` is only running while its run is: a run that ended (Ctrl-C, a refusal) left it
 * interrupted; a run still marked running is stale once its heartbeat stops, or at once when its pid is gone on
 * this host. Other hosts' pids cannot be checked from here: the heartbeat speaks for them.
 */
export function livenessOf(run: RunRow | undefined, here: { host: string; alive: (pid: number) => boolean } = { host: hostname(), alive: pidAlive }): Liveness {
  const base = { host: run?.host ?? null, pid: run?.pid ?? null, heartbeatAgeS: run?.heartbeatAgeS ?? null };
  if (!run) return { ...base, state: 'interrupted', why: 'its run is not recorded' };
  if (run.status !== 'running') return { ...base, state: 'interrupted', why: `its run ended ${run.status}` };
  if (run.host === here.host && run.pid !== null && !here.alive(run.pid)) return { ...base, state: 'stale', why: `pid ${run.pid} is gone on ${run.host}` };
  if (run.heartbeatAgeS === null) return { ...base, state: 'stale', why: 'its run never sent a heartbeat' };
  if (run.heartbeatAgeS * 1000 > STALE_AFTER_MS) return { ...base, state: 'stale', why: `no heartbeat for ${Math.round(run.heartbeatAgeS)} s` };
  return { ...base, state: 'running' };
}

/** `pid 123 on host-a, heartbeat 4 s ago`. */
export function describeRun(l: Liveness): string {
  const where = l.pid !== null ? `pid ${l.pid} on ${l.host ?? 'an unknown host'}` : 'an unknown process';
  return `${where}, ${l.heartbeatAgeS === null ? 'no heartbeat' : `heartbeat ${Math.round(l.heartbeatAgeS)} s ago`}`;
}
