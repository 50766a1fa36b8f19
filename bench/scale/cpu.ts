/**
 * CPU seconds used by groups of processes, from /proc (Linux): what each tier (the migrator workers,
 * PostgreSQL, MariaDB, nats-server) spent on a run, so a model can say which tier a bigger deployment
 * runs out of first. A process's own utime+stime plus what its reaped children left in cutime+cstime:
 * summed over the live processes of a tree, every tick is counted once.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    // Fields after the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    const f = text.slice(close + 2).split(' ');
    return { pid, comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

function allProcesses(): ProcStat[] {
  return readdirSync('/proc')
    .map(Number)
    .filter(Number.isInteger)
    .map(readStat)
    .filter((p): p is ProcStat => p !== undefined);
}

/** Pids of the live children of `parent` whose command is `comm` (a server the bench spawned). */
export function childrenNamed(parent: number, comm: string): number[] {
  return allProcesses()
    .filter((p) => p.ppid === parent && p.comm === comm)
    .map((p) => p.pid);
}

/** CPU seconds of each group's process trees (the roots and every live descendant). */
export function cpuSecondsByGroup(roots: Readonly<Record<string, readonly number[]>>): Record<string, number> {
  const procs = allProcesses();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const groupOfRoot = new Map(Object.entries(roots).flatMap(([group, pids]) => pids.map((pid) => [pid, group] as const)));
  const out: Record<string, number> = Object.fromEntries(Object.keys(roots).map((g) => [g, 0]));
  for (const p of procs) {
    // Walk up until a root (or init): a process belongs to the group of its nearest root ancestor.
    let at: ProcStat | undefined = p;
    while (at && !groupOfRoot.has(at.pid)) at = byPid.get(at.ppid);
    if (at) out[groupOfRoot.get(at.pid)!]! += p.ticks / TICKS_PER_SECOND;
  }
  return out;
}

/** `after - before`, per group. */
export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([group, s]) => [group, Math.max(0, s - (before[group] ?? 0))]));
}
