import { relative } from 'node:path';
import type { LiveSessionOutcome } from './live-session';
import { type PhaseSummary, stepOf } from './phase-results';
import type { TenantVerdict } from './verdicts';

/** Everything the closing summary reports; all of it counts, codes and legacy-free words (no PHI). */
export interface DemoResults {
  tenants: string[];
  brokenTenants: string[];
  s1: PhaseSummary;
  s3?: PhaseSummary;
  s4?: PhaseSummary;
  verdicts: TenantVerdict[];
  /** FHIR Encounters the migrator created for migrated ended sessions legacy left without one. */
  encountersBackfilled?: number;
  live?: LiveSessionOutcome;
  paths: { root: string; dataDir: string; reports: string; logs: string; kongFile: string; parallelRun: string; evidence: string };
  elapsedMs: number;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map(
    (r) =>
      `  ${r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}`,
  );
}

const count = (n: number | undefined) => (n === undefined ? '-' : String(n));

function movedRows(r: DemoResults): string[][] {
  const header = [
    'tenant',
    'sessions',
    'rejected',
    'deferred',
    'then synced (S4)',
    'participants',
    'events rejected',
    'config',
    'consents',
    'consents rejected',
  ];
  const rows = r.tenants.map((tenant) => {
    const sessions = stepOf(r.s1, tenant, '1.1');
    const participants = stepOf(r.s1, tenant, '1.4');
    const config = stepOf(r.s1, tenant, '1.3');
    const consentsOut = stepOf(r.s3, tenant, '3.1');
    const consentsIn = stepOf(r.s3, tenant, '3.2');
    const configWord = !config ? '-' : config.written > 0 ? 'loaded' : config.rejected > 0 ? 'rejected' : 'none';
    return [
      tenant,
      count(sessions?.written),
      count(sessions?.rejected),
      count(sessions?.deferred),
      count(stepOf(r.s4, tenant, '4.1')?.written),
      count(participants?.written),
      count(participants?.rejected),
      configWord,
      count(consentsIn?.written),
      count(consentsOut?.rejected),
    ];
  });
  return [header, ...rows];
}

function reasonLine(label: string, counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  return `  ${label}: ${entries.length ? entries.map(([code, n]) => `${code} ${n}`).join(', ') : 'none'}`;
}

function verdictLine(v: TenantVerdict): string {
  const verdict = v.passed ? 'pass' : `FAIL (${v.failingChecks.join(', ')})`;
  if (v.asExpected)
    return `  ${v.tenant.padEnd(10)} ${verdict}${v.brokenOnPurpose ? ' — expected: this fixture tenant is broken on purpose (corrupt legacy credentials, see fixtures/legacy/csv/README.md)' : ''}`;
  return `  ${v.tenant.padEnd(10)} ${verdict} — NOT EXPECTED: ${v.brokenOnPurpose ? 'this tenant is broken on purpose and must fail' : 'a healthy tenant must pass every check'}`;
}

/** The closing summary: what moved, what was rejected and why, the verdicts, the live session, where things are. */
export function renderSummary(r: DemoResults): string {
  const rel = (p: string) => {
    const path = relative(r.paths.root, p);
    return path.startsWith('..') ? p : path || '.';
  };
  const ok = r.verdicts.every((v) => v.asExpected) && r.live !== undefined;
  const lines = [
    '',
    `What moved (legacy CSV export → virtual_care in ${rel(r.paths.dataDir)}/pg), per tenant:`,
    ...table(movedRows(r)),
    '',
    'What was rejected and why (legacy rows; reason codes, counts — the rows stay in vc_migration.rejects):',
    reasonLine('S1 sessions, participant events, configs', r.s1.rejects),
    ...(r.s3 ? [reasonLine('S3 consents', r.s3.rejects)] : []),
    reasonLine('S1 warnings (loaded, value normalised)', r.s1.warnings),
    ...(r.encountersBackfilled === undefined
      ? []
      : [`  FHIR Encounters created for migrated ended sessions legacy left without one (S2 2.4, S4 4.1): ${r.encountersBackfilled}`]),
    '',
    "Validation (the plan's §5 checklist, `migrator validate --all-tenants`):",
    ...r.verdicts.map(verdictLine),
    '',
    ...(r.live ? [`Live session (tenant ${r.live.tenant}, real HTTP against virtual-care-service):`, ...r.live.steps.map((s) => `  ${s}`), ''] : []),
    'Where things are:',
    `  validation reports   ${rel(r.paths.reports)}/validation.{json,junit.xml,md}`,
    `  parallel-run reports ${rel(r.paths.parallelRun)}/`,
    `  Kong after cutover   ${rel(r.paths.kongFile)}`,
    `  logs of every step   ${rel(r.paths.logs)}/`,
    `  evidence pack        ${rel(r.paths.evidence)}/report.html (+ MANIFEST.json, SIGNATURE.json; archive ${rel(r.paths.evidence)}.tar.gz)`,
    `  explore the result   ${exploreCommand(r)}`,
    '',
    // The duration is in the last line either way: the README quotes it (`ends in under 2 minutes`).
    ok
      ? `Everything behaved as expected (demo took ${seconds(r.elapsedMs)}): healthy tenants pass, ${r.brokenTenants.join(', ')} fails on purpose. Re-run any time: each run starts from a clean ${rel(r.paths.dataDir)}.`
      : `Something did NOT behave as expected (demo took ${seconds(r.elapsedMs)}): see the lines marked above and the logs.`,
  ];
  return lines.join('\n');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

/** `pnpm migrator` reads the demo's state with no setting when it is in the default place (`./.data`). */
function exploreCommand(r: DemoResults): string {
  const inRepo = relative(r.paths.root, r.paths.dataDir);
  const dir = inRepo.startsWith('..') ? r.paths.dataDir : inRepo;
  const prefix = dir === '.data' ? '' : `VC_DATABASE_URL=pglite:${dir}/pg `;
  return `${prefix}pnpm migrator status; ${prefix}pnpm migrator rejects --tenant ${r.brokenTenants[0] ?? r.tenants[0] ?? '<tenant>'}`;
}
