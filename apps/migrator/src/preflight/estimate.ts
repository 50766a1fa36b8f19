import type { LegacySource } from '../legacy/types';
import { PARTICIPANT_HISTORY } from '../phases/s1/participant-history';
import { fail, pass, type CheckOutcome } from './types';

/**
 * S1's rate when the operator gives none: `phase s1 --all-tenants` in bench/RESULTS.md (1M sessions +
 * 4.2M audit rows, MariaDB → PostgreSQL 15, batch size 10,000, on 2 shared cores). Source rows per second,
 * as the bench counts them: sessions + audit rows.
 */
export const BENCH_S1_ROWS_PER_SECOND = 22_006;
const BENCH_RATE_SOURCE = "bench/RESULTS.md's S1 run, MariaDB → PostgreSQL 15 on 2 cores; --rate <rows/s> for your own";

export interface TenantCounts {
  tenant: string;
  sessions: number;
  participantEvents: number;
}

export interface S1Estimate {
  rows: number;
  rowsPerSecond: number;
  rateSource: string;
  seconds: number;
}

async function countOf(source: LegacySource, table: 'VirtualSession' | 'AuditLog', tenantId: string): Promise<number> {
  const where = table === 'AuditLog' ? PARTICIPANT_HISTORY : undefined;
  const cheap = await source.count(table, { tenantId, ...(where ? { where } : {}) });
  if (cheap !== undefined) return cheap;
  // A CSV export has no index to ask: count by reading (one pass per table and tenant, no row kept).
  let n = 0;
  for await (const batch of source.read(table, { tenantId, batchSize: 10_000, ...(where ? { where } : {}) })) n += batch.rows.length;
  return n;
}

const duration = (seconds: number) =>
  seconds < 90 ? `${Math.ceil(seconds)} s` : seconds < 5400 ? `${Math.ceil(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;

/** Legacy rows per tenant S1 would read (sessions, participant events) and how long S1 would take at `rate`. */
export async function countAndEstimate(
  source: LegacySource,
  tenants: readonly string[],
  rate: number | undefined,
): Promise<{ outcome: CheckOutcome; counts: TenantCounts[]; estimate?: S1Estimate }> {
  const counts: TenantCounts[] = [];
  try {
    for (const tenant of tenants)
      counts.push({ tenant, sessions: await countOf(source, 'VirtualSession', tenant), participantEvents: await countOf(source, 'AuditLog', tenant) });
  } catch (error) {
    return { outcome: fail('legacy.counts', `counting legacy rows: ${(error as Error).message}`), counts };
  }
  const rows = counts.reduce((n, c) => n + c.sessions + c.participantEvents, 0);
  const rowsPerSecond = rate ?? BENCH_S1_ROWS_PER_SECOND;
  const estimate = { rows, rowsPerSecond, rateSource: rate ? '--rate' : BENCH_RATE_SOURCE, seconds: rows / rowsPerSecond };
  const shown = counts
    .slice(0, 5)
    .map((c) => `${c.tenant} ${c.sessions}+${c.participantEvents}`)
    .join(', ');
  const perTenant = counts.length > 5 ? `${shown}, … ${counts.length - 5} more in --json` : shown;
  return {
    outcome: pass(
      'legacy.counts',
      `${rows} rows (sessions+participant events: ${perTenant}); S1 ≈ ${duration(estimate.seconds)} at ${rowsPerSecond} rows/s, ${estimate.rateSource}`,
    ),
    counts,
    estimate,
  };
}
