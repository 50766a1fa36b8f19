import { Option, type Command } from 'commander';
import type { RunOptions } from '../engine/types';
import { ExitError } from '../exit-error';
import { parseOverride } from '../gates/override';

/** The flags every phase takes (docs/design.md §6), added by one factory so they read the same everywhere. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--tenant <id>', 'run for this tenant')
    .option('--all-tenants', 'run for every tenant found in the source')
    .option('--dry-run', 'read and map, write nothing; report what would happen')
    .addOption(new Option('--batch-size <n>', 'legacy rows per batch (one transaction each)').default('10000'))
    .addOption(new Option('--concurrency <n>', 'concurrent outside calls (KMS, FHIR, access-policy)').default('4'))
    .option('--as-of <iso>', 'sessions starting before this instant are historical (default: now)')
    .option('--restart-step <id>', "forget this step's checkpoint (and the later ones') and run it again")
    .addOption(new Option('--max-reject-rate <fraction>', 'fail a step whose rejected/read exceeds this').default('0.01'))
    .option(
      '--force',
      'run past a failing phase gate (s2/s3 need s1 done; s4 needs s2 GO and a fresh passing validate); needs --reason, recorded in the run ledger',
    )
    .option(
      '--reason <text>',
      'why --force runs past a gate (or, for `phase s4 decommission`, inside its stability window); recorded as its sha256 and length only: keep the text in the change ticket',
    )
    .option('--summary <file>', 'also write the end-of-phase step table to FILE.md, FILE.json or FILE.csv (format from the extension)')
    .option('--json', 'print one JSON summary on stdout (progress and logs go to stderr)');
}

/** A whole number ≥ 1 written in decimal digits (`Number` alone would take `1e3`, `0x10` and ``). */
export function positiveInt(flag: string, value: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new ExitError(2, `${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

// A date (midnight UTC) or a date-time WITH its offset: a zone-less time would depend on the machine's zone.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/** Whether the `YYYY-MM-DD` the text starts with exists (`new Date` turns 2026-02-30 into March 2). */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/**
 * `--as-of`: an ISO-8601 instant. `new Date` alone accepts `1` (the year 2001) or `May 5`, in local time;
 * a cutoff that decides which sessions are historical must not be guessed.
 */
export function parseAsOf(value: string | undefined, now: Date): Date {
  if (value === undefined) return now;
  const text = value.trim();
  const at = ISO_INSTANT.test(text) && realDay(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(at.getTime()))
    throw new ExitError(2, `--as-of must be an ISO-8601 instant (e.g. 2026-01-01T00:00:00Z or 2026-01-01), got ${JSON.stringify(value)}`);
  return at;
}

export interface RawRunOptions {
  dryRun?: boolean;
  batchSize: string;
  concurrency: string;
  asOf?: string;
  restartStep?: string;
  maxRejectRate: string;
  force?: boolean;
  reason?: string;
  /** `--summary FILE.{md,json,csv}`: the end-of-phase table, also as a file. */
  summary?: string;
  [extra: string]: unknown;
}

/** Validates the flags; a bad one is a usage error (exit 2) naming it and the form expected. */
export function parseRunOptions(raw: RawRunOptions, now: Date): RunOptions {
  const { tenant: _t, allTenants: _a, json: _j, summary: _s, dryRun, batchSize, concurrency, asOf, restartStep, maxRejectRate, force, reason, ...extra } = raw;
  const override = parseOverride({ force, reason });
  const asOfDate = parseAsOf(asOf, now);
  const rate = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(maxRejectRate) ? Number(maxRejectRate) : NaN;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new ExitError(2, `--max-reject-rate must be a fraction between 0 and 1, got ${JSON.stringify(maxRejectRate)}`);
  return Object.freeze({
    ...extra,
    dryRun: dryRun === true,
    batchSize: positiveInt('--batch-size', batchSize),
    concurrency: positiveInt('--concurrency', concurrency),
    asOf: asOfDate,
    ...(restartStep !== undefined ? { restartStep } : {}),
    maxRejectRate: rate,
    ...(override ? { override } : {}),
  });
}
