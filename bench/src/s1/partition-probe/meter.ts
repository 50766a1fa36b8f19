/** The partition probe's measuring: one phase's wall and CPU (all PostgreSQL processes, and the backend's per statement kind). */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { cpuSnapshot, ownTicks, TICKS_PER_SECOND } from '../../validate/cpu-seconds';
import { sampleLoad, type LoadSample } from '../load-average';

export const log = (message: string): void => void process.stderr.write(`[partition probe] ${message}\n`);

/** Times one kind of statement inside a phase (its wall and the backend's CPU add up per kind). */
export type PartFn = <T>(kind: string, f: () => Promise<T>) => Promise<T>;

interface Part {
  wallMs: number;
  backendTicks: number;
}

export interface PhaseResult {
  variant: string;
  sessions: number;
  phase: string;
  rows: number;
  wallS: number;
  /** CPU seconds of all PostgreSQL processes during the phase. */
  pgCpuS: number;
  /** The backend's own CPU seconds and wall per statement kind. */
  parts: Record<string, { wallS: number; backendCpuS: number }>;
  /** The 1-minute load average during the phase: the box is shared, and CPU seconds grow on a busy one too. */
  load: LoadSample;
  locks?: string[];
  notices?: string[];
}

export class Meter {
  private notices: string[] = [];
  constructor(
    readonly client: pg.Client,
    readonly backendPid: number,
    readonly workDir: string,
  ) {
    client.on('notice', (n) => this.notices.push(n.message ?? String(n)));
  }

  q(text: string, params?: unknown[]): Promise<pg.QueryResult> {
    return this.client.query(text, params);
  }

  async copy(sql: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const chunks = function* () {
      for (let i = 0; i < lines.length; i += 1000) yield `${lines.slice(i, i + 1000).join('\n')}\n`;
    };
    await pipeline(Readable.from(chunks()), this.client.query(copyFrom(sql)));
  }

  /** Runs `fn` as one phase: its parts are timed by {@link part}; only they count as the phase's wall time. */
  async phase(variant: string, sessions: number, name: string, rows: number, fn: (part: PartFn) => Promise<unknown>): Promise<PhaseResult> {
    const parts = new Map<string, Part>();
    const part: PartFn = async (kind, f) => {
      const t0 = performance.now();
      const c0 = ownTicks(this.backendPid);
      try {
        return await f();
      } finally {
        const p = parts.get(kind) ?? { wallMs: 0, backendTicks: 0 };
        p.wallMs += performance.now() - t0;
        p.backendTicks += ownTicks(this.backendPid) - c0;
        parts.set(kind, p);
      }
    };
    this.notices = [];
    const sampler = sampleLoad();
    const before = cpuSnapshot(this.workDir);
    await fn(part);
    const after = cpuSnapshot(this.workDir);
    const load = sampler.stop();
    const result: PhaseResult = {
      variant,
      sessions,
      phase: name,
      rows,
      wallS: [...parts.values()].reduce((s, p) => s + p.wallMs, 0) / 1000,
      pgCpuS: (after.postgres - before.postgres) / TICKS_PER_SECOND,
      parts: Object.fromEntries([...parts].map(([k, p]) => [k, { wallS: p.wallMs / 1000, backendCpuS: p.backendTicks / TICKS_PER_SECOND }])),
      load,
    };
    const perRow = rows > 0 ? ` (${((result.pgCpuS / rows) * 1e6).toFixed(1)} µs/row)` : '';
    log(
      `${variant} N=${sessions} ${name}: ${rows} rows, wall ${result.wallS.toFixed(2)} s, PostgreSQL CPU ${result.pgCpuS.toFixed(2)} s${perRow}, load ${load.mean}`,
    );
    return result;
  }

  takeNotices(): string[] {
    const out = this.notices;
    this.notices = [];
    return out;
  }
}

/** Relations (tables) this backend holds locks on, and the modes: what an ATTACH holds until its commit. */
export async function heldLocks(m: Meter): Promise<string[]> {
  const { rows } = await m.q(
    `select c.relname, l.mode from pg_locks l join pg_class c on c.oid = l.relation
      where l.pid = pg_backend_pid() and l.locktype = 'relation' and c.relkind in ('r', 'p') and c.relnamespace = 'public'::regnamespace
      order by c.relname, l.mode`,
  );
  return rows.map((r: { relname: string; mode: string }) => `${r.relname}: ${r.mode}`);
}
