/** The validate section of bench/RESULTS.md (between `<!-- validate:start -->` and `<!-- validate:end -->`). */
import { markersOf } from '../results-file';

export interface ValidateRun {
  sessions: number;
  tenants: number;
  seconds: number;
  exitCode: number | null;
  peakRssMiB: number;
  /** CPU seconds the run cost each part (bench/src/validate/cpu-seconds.ts): less sensitive to a shared machine than wall time. */
  cpu: { migrator: number; mariadb: number; postgres: number; standIns: number };
  /** Seconds per tenant: its wall time (the JUnit testsuite's; its checks run side by side). */
  perTenant: Record<string, number>;
  perCheck: Array<{ check: string; maxSeconds: number; totalSeconds: number }>;
  /** How many tenants got each check's status (`sessions.reconciled pass` → 4). */
  statuses: Record<string, number>;
  /** 1-minute load average sampled each second during the run. */
  load: { mean: number; max: number };
}

export interface ValidateResults {
  command: string;
  startedAt: string;
  machine: string;
  runs: ValidateRun[];
}

/** Above this 1-minute load average on a 2-core box, timings say more about the neighbours than about validate. */
export const QUIET_LOAD = 1.5;
const TARGET_SECONDS_PER_TENANT = 10;
const { start, end } = markersOf('validate');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const s = (n: number): string => `${n.toFixed(1)} s`;

export function validateMarkdown(r: ValidateResults): string {
  const slowest = (run: ValidateRun) => Math.max(0, ...Object.values(run.perTenant));
  const lines = [
    start,
    '## validate: `migrator validate --all-tenants` after S1',
    '',
    `Run ${r.startedAt} on ${r.machine}, with:`,
    '',
    '```sh',
    r.command,
    '```',
    '',
    `Target: under ${TARGET_SECONDS_PER_TENANT} s per tenant on the 1M-session set, peak RSS flat across sizes. Every legacy encounterRef is`,
    "held by the FHIR stand-in (each is looked up); consents are S3's and not imported here, so that check fails (exit 3) but runs in full.",
    '',
    '| sessions | tenants | wall time | slowest tenant | peak RSS | CPU s: migrator / MariaDB / PostgreSQL / stand-ins | load avg (mean / max) |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...r.runs.map(
      (run) =>
        `| ${fmt(run.sessions)} | ${run.tenants} | ${s(run.seconds)} | ${s(slowest(run))} | ${fmt(run.peakRssMiB)} MiB | ${[run.cpu.migrator, run.cpu.mariadb, run.cpu.postgres, run.cpu.standIns].map((c) => c.toFixed(1)).join(' / ')} | ${run.load.mean.toFixed(1)} / ${run.load.max.toFixed(1)} |`,
    ),
    '',
  ];
  for (const run of r.runs) {
    lines.push(
      `Seconds per check at ${fmt(run.sessions)} sessions (slowest tenant / sum over tenants): ${run.perCheck.map((c) => `${c.check} ${c.maxSeconds.toFixed(2)} / ${c.totalSeconds.toFixed(2)}`).join('; ')}.`,
      '',
    );
  }
  const loaded = r.runs.filter((run) => run.load.max > QUIET_LOAD);
  if (loaded.length > 0)
    lines.push(
      `**Warning:** load average above ${QUIET_LOAD} during ${loaded.map((run) => `the ${fmt(run.sessions)}-session run`).join(' and ')}: the machine was shared, timings are upper bounds; re-run on a quiet machine.`,
      '',
    );
  lines.push(end);
  return lines.join('\n');
}
