import { markdownCell as cell } from './markdown-cell';
import { assertNoPhi } from './phi-guard';
import type { ValidationReport } from './validation-report';

/** A reviewer's view of a validation run: verdict first, then one table per tenant. */
export function renderMarkdown(report: ValidationReport): string {
  assertNoPhi(report);
  const tenants = [...new Set(report.checks.map((c) => c.tenant))];
  const failed = report.checks.filter((c) => c.status === 'fail');
  const errored = report.checks.filter((c) => c.status === 'error');
  const lines = [
    `# Migration validation: ${report.status.toUpperCase()}`,
    '',
    `${report.checks.length} checks over ${tenants.length} tenant(s); ${failed.length} failed${errored.length > 0 ? `, ${errored.length} could not complete` : ''}.`,
    '',
  ];
  for (const tenant of tenants) {
    lines.push(`## Tenant ${tenant}`, '', '| check | status | expected | actual | samples (legacy ids) |', '|---|---|---|---|---|');
    for (const c of report.checks.filter((x) => x.tenant === tenant)) {
      lines.push(`| ${c.id} | ${c.status === 'pass' ? 'pass' : `**${c.status.toUpperCase()}**`} | ${cell(c.expected)} | ${cell(c.actual)} | ${cell(c.samples.join(', '))} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
