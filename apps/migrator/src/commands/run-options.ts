import { Option, type Command } from 'commander';
import type { RunOptions } from '../engine/types';
import { ExitError } from '../exit-error';

/** The flags every phase takes (DESIGN §6), added by one factory so they read the same everywhere. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--tenant <id>', 'run for this tenant')
    .option('--all-tenants', 'run for every tenant found in the source')
    .option('--dry-run', 'read and map, write nothing; report what would happen')
    .addOption(new Option('--batch-size <n>', 'legacy rows per batch (one transaction each)').default('10000'))
    .addOption(new Option('--concurrency <n>', 'concurrent outside calls (KMS, FHIR, access-policy)').default('4'))
    .option('--as-of <iso>', 'sessions starting before this instant are historical (default: now)')
    .option('--restart-step <id>', 'forget this step\'s checkpoint (and the later ones\') and run it again')
    .addOption(new Option('--max-reject-rate <fraction>', 'fail a step whose rejected/read exceeds this').default('0.01'))
    .option('--json', 'print one JSON summary on stdout (progress and logs go to stderr)');
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ExitError(2, `${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export interface RawRunOptions {
  dryRun?: boolean;
  batchSize: string;
  concurrency: string;
  asOf?: string;
  restartStep?: string;
  maxRejectRate: string;
  [extra: string]: unknown;
}

/** Validates the flags; a bad one is a usage error (exit 2) naming it and the form expected. */
export function parseRunOptions(raw: RawRunOptions, now: Date): RunOptions {
  const { tenant: _t, allTenants: _a, json: _j, dryRun, batchSize, concurrency, asOf, restartStep, maxRejectRate, ...extra } = raw;
  const asOfDate = asOf === undefined ? now : new Date(asOf);
  if (Number.isNaN(asOfDate.getTime())) throw new ExitError(2, `--as-of must be an ISO-8601 instant (e.g. 2026-01-01T00:00:00Z), got ${JSON.stringify(asOf)}`);
  const rate = Number(maxRejectRate);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new ExitError(2, `--max-reject-rate must be a fraction between 0 and 1, got ${JSON.stringify(maxRejectRate)}`);
  return Object.freeze({
    ...extra,
    dryRun: dryRun === true,
    batchSize: positiveInt('--batch-size', batchSize),
    concurrency: positiveInt('--concurrency', concurrency),
    asOf: asOfDate,
    ...(restartStep !== undefined ? { restartStep } : {}),
    maxRejectRate: rate,
  });
}
