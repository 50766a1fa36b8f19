/**
 * CPU time of process trees from /proc (Linux): what a load phase cost the server process and the
 * PostgreSQL backends, per request. Unlike req/s, CPU per request barely moves with other work on the
 * machine, so it is the number to compare between runs on a shared box. Elsewhere: undefined.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

interface Proc {
  pid: number;
  ppid: number;
  ticks: number;
}

function readProcs(): Proc[] {
  const procs: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm may hold spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, plus cutime + cstime: PostgreSQL backends that exit hand their time to the postmaster.
      procs.push({ pid: Number(name), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return procs;
}

/** CPU seconds used so far by `root` and its descendants. */
export function treeCpuSeconds(root: number): number | undefined {
  let procs: Proc[];
  try {
    procs = readProcs();
  } catch {
    return undefined;
  }
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const self = procs.find((p) => p.pid === root);
  if (!self) return undefined;
  let ticks = 0;
  const queue = [self];
  while (queue.length > 0) {
    const p = queue.pop()!;
    ticks += p.ticks;
    queue.push(...(children.get(p.pid) ?? []));
  }
  return ticks / TICKS_PER_SECOND;
}

/** The postmaster listening on `port` (found by its command line), if it runs on this machine. */
export function postmasterPid(port: string): number | undefined {
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
        if (/\/postgres$|^postgres$/.test(argv[0] ?? '') && argv.some((a, i) => (a === '-p' && argv[i + 1] === port) || a === `-p${port}`)) return Number(name);
      } catch {
        // Gone, or not ours to read.
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}
