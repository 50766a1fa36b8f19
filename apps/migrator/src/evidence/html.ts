import type { ValidationReport } from '../reports/index';
import type { LedgerRow } from '../ledger/chain';
import type { TableFingerprint } from '../validate/fingerprints';
import type { Tally } from './collect';

/** What the HTML report shows: the same facts as the pack's JSON files. */
export interface HtmlFacts {
  tenant: string;
  createdAt: string;
  report: ValidationReport;
  ledger: readonly LedgerRow[];
  /** Start rows no end row names: runs killed outright, or still running. */
  unfinished: readonly number[];
  ledgerStatus: string;
  fingerprints: readonly TableFingerprint[];
  rejects: Tally;
  warnings: Tally;
  keys: ReadonlyArray<{ config: string; kmsKeyId: string; keyVersion: string }>;
  cutoverAt: string | null;
}

const escape = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const table = (head: readonly string[], rows: ReadonlyArray<readonly unknown[]>) =>
  `<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('') || `<tr><td colspan="${head.length}">none</td></tr>`}</tbody></table>`;
const tallyRows = (tally: Tally) =>
  Object.entries(tally).map(([code, t]) => [code, t.count, t.legacyIds.slice(0, 20).join(', ') + (t.legacyIds.length > 20 ? ' …' : '')]);

/** `start`/`end` rows of an invocation (`UNFINISHED` when no end row names the start), `run` for a row of before start rows. */
const ledgerRowKind = (r: LedgerRow, unfinished: readonly number[]) =>
  r.entry.event === 'start' ? (unfinished.includes(r.seq) ? 'start, UNFINISHED' : 'start') : r.entry.event === 'end' ? 'end' : 'run';

/** One static HTML file (inline style, no script, nothing fetched): a person opens it from the folder. */
export function renderEvidenceHtml(f: HtmlFacts): string {
  const css =
    'body{font:14px system-ui,sans-serif;margin:2rem;max-width:75rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#eee}.pass{color:#060}.fail{color:#b00;font-weight:bold}code{font-size:12px}';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Migration evidence: ${escape(f.tenant)}</title><style>${css}</style></head><body>
<h1>Migration evidence for tenant ${escape(f.tenant)}</h1>
<p>Written ${escape(f.createdAt)}. Validation: <span class="${f.report.status}">${escape(f.report.status.toUpperCase())}</span>. Run ledger: ${escape(f.ledgerStatus)}. Every file of this folder is listed with its sha256 in MANIFEST.json; check it with <code>migrator evidence verify &lt;folder&gt;</code>.</p>
<h2>Validation checks</h2>
${table(
  ['check', 'status', 'expected', 'actual', 'samples (legacy ids)'],
  f.report.checks.map((c) => [c.id, c.status, JSON.stringify(c.expected), JSON.stringify(c.actual), c.samples.join(', ')]),
)}
<h2>Reconciliation fingerprints (legacy after mapping vs target)</h2>
${table(
  ['table', 'legacy ≡ target', 'legacy rows', 'target rows', 'legacy digest', 'target digest', 'differing legacy ids'],
  f.fingerprints.map((x) => [x.table, x.equal ? 'yes' : 'NO', x.legacy.rows, x.target.rows, x.legacy.digest, x.target.digest, x.differing.join(', ')]),
)}
<h2>Run ledger</h2>
${table(
  ['seq', 'row', 'started', 'ended', 'exit', 'OS user', 'operator', 'host', 'tool', 'command', 'config hash'],
  f.ledger.map((r) => [
    r.seq,
    ledgerRowKind(r, f.unfinished),
    r.entry.startedAt,
    r.entry.endedAt ?? '',
    r.entry.exitCode ?? '',
    r.entry.osUser,
    r.entry.operator ?? '',
    r.entry.host,
    r.entry.toolCommit,
    r.entry.command,
    r.entry.configHash,
  ]),
)}
<h2>Rejects</h2>
${table(['phase/step/reason', 'rows', 'legacy ids'], tallyRows(f.rejects))}
<h2>Warnings</h2>
${table(['code', 'rows', 'legacy ids'], tallyRows(f.warnings))}
<h2>KMS keys of re-encrypted configs</h2>
${table(
  ['config', 'KMS key id', 'key version'],
  f.keys.map((k) => [k.config, k.kmsKeyId, k.keyVersion]),
)}
<h2>Kong routing</h2>
<p>${f.cutoverAt ? `Snapshots before and after the cutover of ${escape(f.cutoverAt)}: kong-before.json, kong-after.json.` : 'No cutover recorded for this tenant yet.'}</p>
</body></html>
`;
}
