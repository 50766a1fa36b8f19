import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { MigratorConfig } from '../config';
import { operatorName } from '../phases/s4/actor';
import { assertNoPhi, findPersonalData } from '../reports/phi-guard';
import { canonicalJson, freeTextDigest, sha256 } from './canonical';

/**
 * What one invocation tells the ledger. cli.ts captures the command and its flags (commander's preAction
 * hook, so every command — also ones added later — is covered without knowing it), a phase adds its
 * per-step counts, and bin.ts appends the row once the exit status is known.
 */
export interface Invocation {
  command: string;
  args: string[];
  flags: Record<string, unknown>;
  tenants: string[];
  startedAt: Date;
  counts: Array<{ tenant: string; step: string; status: string; read: number; written: number; rejected: number; warnings: number }>;
  /** Phase gates this invocation ran past with `--force --reason` (docs/design.md §11). */
  overrides: GateOverrideNote[];
  /** Set when the command opened the target database: only then can it have written there. */
  openedTarget: boolean;
  /** The `start` row appended when the target was opened (ledger/start.ts); absent before `phase s0` made the table. */
  startRow?: { seq: number; hash: string };
  /** The start row was tried (once per invocation, whatever came of it). */
  startTried: boolean;
}

/** One failing gate a `--force --reason` ran past: the ledger keeps which, why it failed, and the reason given. */
export interface GateOverrideNote {
  phase: string;
  tenant: string;
  gate: string;
  why: string;
  reason: string;
}

/** Commands that only read the target (or write files elsewhere): no ledger row. */
const READ_ONLY = new Set(['status', 'rejects', 'validate', 'ledger', 'evidence', 'preflight', 'plan', 'help']);
export const SECRET_FLAG = /secret|password|passphrase|token|credential|key/i;

let current: Invocation | undefined;

/** The invocation to record, if this one writes (after the command's action ran or failed). */
export function currentInvocation(): Invocation | undefined {
  return current?.openedTarget ? current : undefined;
}

/**
 * Flags (and override fields) whose value is free text an operator typed: a name or a phone number in it
 * cannot be told reliably (a name in lower case), so it is never kept as typed, only as its digest.
 */
const FREE_TEXT = /^(reason|note|comment|message|description)$/i;

/**
 * A flag's value as the ledger keeps it: dropped when the flag's name looks secret, a digest when it is
 * free text (`--reason`), a sha256 when the value would not pass the PHI guard (a URL, a FHIR reference)
 * or looks like a phone number or a person's name, else as given. A list (a variadic `--tenant a b`) is
 * kept element by element.
 */
export function ledgerValue(name: string, value: unknown): unknown {
  if (SECRET_FLAG.test(name)) return '[secret: not recorded]';
  if (Array.isArray(value)) return value.map((item) => ledgerValue(name, item));
  if (typeof value !== 'string') return value;
  if (FREE_TEXT.test(name)) return freeTextDigest(value);
  try {
    assertNoPhi(value);
  } catch {
    return sha256(value);
  }
  return findPersonalData(value) ? sha256(value) : value;
}

/** `--tenant <id>` or the variadic `--tenant <id...>` (enqueue), or `--all-tenants` as `*`. */
function namedTenants(flags: Record<string, unknown>): string[] {
  if (typeof flags.tenant === 'string') return [flags.tenant];
  if (Array.isArray(flags.tenant)) return flags.tenant.filter((t): t is string => typeof t === 'string');
  return flags.allTenants ? ['*'] : [];
}

/** commander's preAction hook: notes the command path, arguments and flags of a writing invocation. */
export function captureInvocation(action: Command): void {
  const names: string[] = [];
  for (let c: Command | null = action; c?.parent; c = c.parent) names.unshift(c.name());
  const flags = action.opts<Record<string, unknown>>();
  const args = action.args.map((a, i) => String(ledgerValue(`arg${i}`, a)));
  if (READ_ONLY.has(names[0] ?? '') || flags.dryRun === true) return;
  current = {
    command: [...names, ...args].join(' '),
    args,
    flags: Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, ledgerValue(k, v)])),
    tenants: namedTenants(flags),
    startedAt: new Date(),
    counts: [],
    overrides: [],
    openedTarget: false,
    startTried: false,
  };
}

/** The writing invocation whose start row is still to be tried; marks it tried (ledger/start.ts). */
export function invocationToStart(): Invocation | undefined {
  if (!current?.openedTarget || current.startTried) return undefined;
  current.startTried = true;
  return current;
}

/** commands/target.ts: the command opened the target (a command that never does is not recorded). */
export function noteTargetOpened(): void {
  if (current) current.openedTarget = true;
}

/** A phase's per-step counts and the tenants it actually ran (for `--all-tenants`). */
export function noteStepCounts(
  steps: ReadonlyArray<{ tenant: string; id: string; status: string; read: number; written: number; rejected: number; warnings: number }>,
): void {
  if (!current) return;
  current.counts.push(
    ...steps.map((s) => ({ tenant: s.tenant, step: s.id, status: s.status, read: s.read, written: s.written, rejected: s.rejected, warnings: s.warnings })),
  );
  current.tenants = [...new Set([...current.tenants, ...steps.map((s) => s.tenant)])];
}

/**
 * Gates overridden by `--force --reason` (gates/enforce.ts): the reason is kept as its digest, the failure
 * (the tool's own words) as said unless it would not pass the guards. The overridden tenants join the row's
 * tenants, so each one's `ledger show --tenant` and evidence pack carry the override.
 */
export function noteGateOverrides(notes: readonly GateOverrideNote[]): void {
  if (!current) return;
  current.overrides.push(...notes.map((n) => ({ ...n, why: String(ledgerValue('why', n.why)), reason: String(ledgerValue('reason', n.reason)) })));
  current.tenants = [...new Set([...current.tenants, ...notes.map((n) => n.tenant)])];
}

/**
 * Settings whose values are secrets, by name (VC_LEGACY_MASTER_KEY, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, and any added later so named): the config hash covers only whether they were set.
 * AWS_ACCESS_KEY_ID names a key and AWS_WEB_IDENTITY_TOKEN_FILE a path: neither is a secret.
 */
const SECRET_SETTING = /SECRET|PASSWORD|PASSPHRASE|_TOKEN$|_KEY$/;
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
// Everything between the user and the last `@`: a password may hold an unencoded `/`, `@` or `?`.
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):.*@/is;
const SECRET_QUERY_PARAM = /([?&][^=&#]*(?:secret|password|passphrase|token|credential|key)[^=&#]*=)[^&#]*/gi;

/**
 * A URL setting without its credentials: the password, and query parameters named like a secret. Where
 * the URL parser reads no password, the userinfo is left alone (a `:` then is a port); where it cannot read
 * the URL at all (a password holding an unencoded `/`), everything up to the last `@` goes.
 */
function withoutCredentials(value: string): string {
  if (!URL_SCHEME.test(value)) return value;
  let password = true;
  try {
    password = new URL(value).password !== '';
  } catch {
    // unreadable: treated as holding a password
  }
  return (password ? value.replace(URL_PASSWORD, '$1:[secret]@') : value).replace(SECRET_QUERY_PARAM, '$1[secret]');
}

/** sha256 of the effective configuration, secret values (and URL passwords) left out. */
export function configHash(config: MigratorConfig): string {
  const effective: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (SECRET_SETTING.test(name)) effective[name] = '[set]';
    else effective[name] = typeof value === 'string' ? withoutCredentials(value) : value;
  }
  return sha256(canonicalJson(effective));
}

let commit: string | undefined;

/**
 * The tool's git commit: `VC_BUILD_COMMIT` (stamped by a build or image), else `git rev-parse HEAD` in
 * the tool's own directory, else `unknown` (a tarball install). Prefixed `git:` so reports can tell it.
 */
export function toolCommit(stamped: string | undefined): string {
  if (stamped) return `git:${stamped.toLowerCase()}`;
  if (commit) return commit;
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: dirname(fileURLToPath(import.meta.url)),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    }).trim();
    commit = /^[0-9a-f]{40}$/.test(head) ? `git:${head}` : 'unknown';
  } catch {
    commit = 'unknown';
  }
  return commit;
}

/** Who ran what with which settings: the part of the entry the start and the end row share. */
function identity(invocation: Invocation, config: MigratorConfig): Record<string, unknown> {
  return {
    osUser: operatorName(),
    operator: config.VC_OPERATOR ? String(ledgerValue('operator', config.VC_OPERATOR)) : null,
    host: hostname(),
    pid: process.pid,
    toolCommit: toolCommit(config.VC_BUILD_COMMIT),
    command: invocation.command,
    flags: invocation.flags,
    configHash: configHash(config),
    startedAt: invocation.startedAt.toISOString(),
  };
}

/**
 * The entry of the row appended when a writing invocation opens the target, before it writes anything:
 * a run killed outright (SIGKILL, a lost machine) still leaves this row, with no end row after it.
 */
export function ledgerStartEntry(invocation: Invocation, config: MigratorConfig): Record<string, unknown> {
  return { event: 'start', ...identity(invocation, config) };
}

/** The ledger entry of a finished invocation (without seq and hashes, which the append adds); it names its start row. */
export function ledgerEntry(invocation: Invocation, config: MigratorConfig, exitCode: number): Record<string, unknown> {
  return {
    event: 'end',
    ...(invocation.startRow ? { startSeq: invocation.startRow.seq, startHash: invocation.startRow.hash } : {}),
    ...identity(invocation, config),
    endedAt: new Date().toISOString(),
    exitCode,
    status: exitCode === 0 ? 'done' : 'failed',
    counts: invocation.counts,
    ...(invocation.overrides.length ? { overrides: invocation.overrides } : {}),
  };
}
