/**
 * CPU seconds from /proc (Linux), for timings that do not depend on what else the machine runs: the
 * migrator's (this process's reaped children: `pnpm` and the node process it waited for), the legacy
 * MariaDB's and PostgreSQL's (their server processes, PostgreSQL's exited backends included), and this
 * process's own (the FHIR and access-policy stand-ins). Clock ticks are USER_HZ, 100 on Linux.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TICKS_PER_SECOND = 100;

/** utime, stime, cutime, cstime of a process (fields 14–17 of /proc/<pid>/stat), in ticks; zeros once it is gone. */
function times(pid: number | 'self'): [number, number, number, number] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state (3), ppid (4), … utime is field 14, so index 11 here.
    return [Number(fields[11]), Number(fields[12]), Number(fields[13]), Number(fields[14])];
  } catch {
    return [0, 0, 0, 0];
  }
}

/** CPU ticks (user + system) a live process has used itself, its reaped children not included; 0 once it is gone. */
export function ownTicks(pid: number): number {
  const [utime, stime] = times(pid);
  return utime + stime;
}

function processes(): Array<{ pid: number; ppid: number; cmdline: string }> {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid, ppid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

export interface CpuSnapshot {
  migrator: number;
  mariadb: number;
  postgres: number;
  standIns: number;
}

/** Ticks so far of each part; the difference of two snapshots, in seconds, is {@link cpuSeconds}. */
export function cpuSnapshot(workDir: string): CpuSnapshot {
  const self = times('self');
  const all = processes();
  const mariadb = all.filter((p) => p.cmdline.includes(`--datadir=${join(workDir, 'mariadb')}`));
  let postmaster: number | undefined;
  try {
    postmaster = Number(readFileSync(join(workDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    postmaster = undefined;
  }
  return {
    migrator: self[2] + self[3],
    mariadb: mariadb.reduce((sum, p) => sum + ownTicks(p.pid), 0),
    // The postmaster and its live children, and what its exited children (backends) used.
    postgres:
      postmaster === undefined
        ? 0
        : ownTicks(postmaster) +
          times(postmaster)[2] +
          times(postmaster)[3] +
          all.filter((p) => p.ppid === postmaster).reduce((sum, p) => sum + ownTicks(p.pid), 0),
    standIns: self[0] + self[1],
  };
}

export function cpuSeconds(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  const d = (k: keyof CpuSnapshot) => Math.max(0, after[k] - before[k]) / TICKS_PER_SECOND;
  return { migrator: d('migrator'), mariadb: d('mariadb'), postgres: d('postgres'), standIns: d('standIns') };
}
