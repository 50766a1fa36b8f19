import type { LedgerRow } from './chain';

/**
 * The start rows no end row names (`entry.startSeq`): runs killed outright (SIGKILL, a lost machine) or
 * still running. Paired over the whole ledger, since a tenant's listing may not hold both rows.
 * Rows written before start rows existed carry no `event` and are complete on their own.
 */
export function unfinishedStarts(rows: readonly LedgerRow[]): number[] {
  const ended = new Set(rows.map((r) => r.entry.startSeq).filter((seq): seq is number => typeof seq === 'number'));
  return rows.filter((r) => r.entry.event === 'start' && !ended.has(r.seq)).map((r) => r.seq);
}

/** One line of `migrator ledger show`: seq, start time, how it ended (or that it has not), who, what. */
export function ledgerLine(row: LedgerRow, unfinished: ReadonlySet<number>): string {
  const e = row.entry;
  const how = e.event !== 'start' ? `exit ${String(e.exitCode)}` : unfinished.has(row.seq) ? 'UNFINISHED' : 'started';
  const note = unfinished.has(row.seq) ? ` — no end row: still running (pid ${String(e.pid)} on ${String(e.host)}) or killed` : '';
  return `${String(row.seq).padStart(5)} ${String(e.startedAt)} ${how.padEnd(10)} ${String(e.osUser)} ${String(e.command)}${note}`;
}
