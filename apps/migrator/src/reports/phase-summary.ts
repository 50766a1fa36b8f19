import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { PhaseSummary } from '../engine/run-phase';
import { ExitError } from '../exit-error';

/**
 * A phase's outcome as people read it: pgloader's end-of-load table (one row per step, a total), on
 * stderr at the end of every phase, and the same rows as `--summary FILE.md|.json|.csv`. Counts and
 * step ids only: nothing here can hold PHI or a secret.
 */

export type SummaryFormat = 'md' | 'json' | 'csv';

/** One row of the table. `rate` is rows read per second of the step's own time. */
export interface SummaryRow {
  tenant: string;
  step: string;
  status: string;
  read: number;
  written: number;
  rejected: number;
  warnings: number;
  deferred: number;
  seconds: number;
  rate: number;
}

const COLUMNS = ['tenant', 'step', 'status', 'read', 'written', 'rejected', 'warnings', 'deferred', 'time', 'rate'] as const;

/** The format `--summary` writes, from the file's extension; anything else is a usage error (exit 2). */
export function summaryFormat(path: string): SummaryFormat {
  const ext = extname(path).slice(1).toLowerCase();
  if (ext === 'md' || ext === 'json' || ext === 'csv') return ext;
  throw new ExitError(2, `--summary ${JSON.stringify(path)}: the file must end in .md, .json or .csv (the format is taken from it)`);
}

const rateOf = (read: number, seconds: number) => (seconds > 0 ? Math.round(read / seconds) : 0);

/** The step rows, then a `total` row over all of them. */
export function summaryRows(summary: PhaseSummary): SummaryRow[] {
  const rows = summary.steps.map((s) => {
    const seconds = s.durationMs / 1000;
    return { tenant: s.tenant, step: s.id, status: s.status, read: s.read, written: s.written, rejected: s.rejected, warnings: s.warnings, deferred: s.deferred, seconds, rate: rateOf(s.read, seconds) };
  });
  const sum = (key: 'read' | 'written' | 'rejected' | 'warnings' | 'deferred' | 'seconds') => rows.reduce((n, r) => n + r[key], 0);
  const total: SummaryRow = { tenant: 'total', step: '', status: summary.status, read: sum('read'), written: sum('written'), rejected: sum('rejected'), warnings: sum('warnings'), deferred: sum('deferred'), seconds: sum('seconds'), rate: 0 };
  total.rate = rateOf(total.read, total.seconds);
  return [...rows, total];
}

const time = (seconds: number) => (seconds < 60 ? `${seconds.toFixed(3)}s` : `${Math.floor(seconds / 60)}m${(seconds % 60).toFixed(1)}s`);

function cells(row: SummaryRow): string[] {
  return [row.tenant, row.step, row.status, String(row.read), String(row.written), String(row.rejected), String(row.warnings), String(row.deferred), time(row.seconds), `${row.rate}/s`];
}

const asOfDetail = (summary: PhaseSummary) => ({
  ...(summary.asOfByTenant ? { asOfByTenant: summary.asOfByTenant } : {}),
  ...(summary.requestedAsOf ? { requestedAsOf: summary.requestedAsOf } : {}),
});

/**
 * The as-of the steps used. A resumed run keeps the one its first run fixed: said beside the one asked for, and
 * with several tenants, which kept which (grouped by as-of, so a run of many tenants stays one line).
 */
function asOfText(summary: PhaseSummary): string {
  if (!summary.requestedAsOf) return summary.asOf;
  if (!summary.asOfByTenant) return `${summary.asOf} (fixed by the run that started the phase; not ${summary.requestedAsOf})`;
  const kept = new Map<string, string[]>();
  for (const [tenant, asOf] of Object.entries(summary.asOfByTenant)) if (asOf !== summary.requestedAsOf) kept.set(asOf, [...(kept.get(asOf) ?? []), tenant]);
  const list = [...kept].map(([asOf, ts]) => `${asOf} (${ts.join(', ')})`).join(', ');
  return `${summary.asOf}; fixed by earlier runs: ${list}`;
}

function title(summary: PhaseSummary): string {
  return `phase ${summary.phase}${summary.dryRun ? ' (dry run: nothing written)' : ''}, as of ${asOfText(summary)}: ${summary.status}`;
}

/** The aligned text table (names left, numbers right), as pgloader prints it when a load ends. */
export function summaryTable(summary: PhaseSummary): string {
  const body = summaryRows(summary).map(cells);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...body.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((v, i) => (i < 3 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [title(summary), line(COLUMNS), rule, ...body.slice(0, -1).map(line), rule, line(body[body.length - 1]!), ''].join('\n');
}

const csvCell = (v: string | number) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

/** The summary in `format`: a Markdown table, JSON (the rows with the phase's rejects and warnings by code) or CSV. */
export function renderSummary(summary: PhaseSummary, format: SummaryFormat): string {
  const rows = summaryRows(summary);
  switch (format) {
    case 'md': {
      const head = `| ${COLUMNS.join(' | ')} |\n|${COLUMNS.map((_, i) => (i < 3 ? ' --- ' : ' ---: ')).join('|')}|`;
      const lines = rows.map((r) => `| ${cells(r).join(' | ')} |`);
      const codes = (label: string, counts: Record<string, number>) => (Object.keys(counts).length ? [``, `${label}: ${Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(', ')}`] : []);
      return [`# ${title(summary)}`, '', head, ...lines, ...codes('Rejects', summary.rejects), ...codes('Warnings', summary.warnings), ''].join('\n');
    }
    case 'json':
      return `${JSON.stringify({ phase: summary.phase, status: summary.status, dryRun: summary.dryRun, asOf: summary.asOf, ...asOfDetail(summary), rows, rejects: summary.rejects, warnings: summary.warnings }, null, 2)}\n`;
    case 'csv': {
      const head = ['tenant', 'step', 'status', 'read', 'written', 'rejected', 'warnings', 'deferred', 'seconds', 'rate'];
      return `${[head.join(','), ...rows.map((r) => head.map((k) => csvCell(r[k as keyof SummaryRow])).join(','))].join('\n')}\n`;
    }
  }
}

/** Writes `--summary`'s file; its format was checked (with {@link summaryFormat}) before the run began. */
export async function writeSummaryFile(path: string, summary: PhaseSummary): Promise<void> {
  // The runbooks' `--summary reports/s1-acme.md` names a folder a fresh checkout lacks; a done phase must not end in ENOENT.
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderSummary(summary, summaryFormat(path)));
}
