import type { CheckResult } from '@vc/domain/checklist';
import { assertNoPhi } from './phi-guard';
import type { ValidationReport } from './validation-report';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function testcase(check: CheckResult): string {
  const open = `    <testcase classname="validate.${escapeXml(check.tenant)}" name="${escapeXml(check.id)}">`;
  if (check.status === 'pass') return `${open}</testcase>`;
  const message = `${check.id} failed for tenant ${check.tenant}: expected ${JSON.stringify(check.expected)}, actual ${JSON.stringify(check.actual)}`;
  const body = [`expected: ${JSON.stringify(check.expected)}`, `actual: ${JSON.stringify(check.actual)}`, `samples: ${check.samples.join(', ') || '(none)'}`].join('\n');
  return `${open}\n      <failure type="${escapeXml(check.id)}" message="${escapeXml(message)}">${escapeXml(body)}</failure>\n    </testcase>`;
}

/**
 * JUnit XML as CI servers read it: one `<testsuite>` per tenant, one `<testcase>` per check, and a
 * failing check a `<failure>` whose type and message name it.
 */
export function renderJunit(report: ValidationReport): string {
  assertNoPhi(report);
  const tenants = [...new Set(report.checks.map((c) => c.tenant))];
  const failures = report.checks.filter((c) => c.status === 'fail').length;
  const suites = tenants.map((tenant) => {
    const checks = report.checks.filter((c) => c.tenant === tenant);
    const failed = checks.filter((c) => c.status === 'fail').length;
    return [
      `  <testsuite name="validate ${escapeXml(tenant)}" tests="${checks.length}" failures="${failed}" errors="0" skipped="0">`,
      ...checks.map(testcase),
      '  </testsuite>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="migrator validate" tests="${report.checks.length}" failures="${failures}" errors="0">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
