import { hostname as osHostname } from 'node:os';
import type { CheckResult } from '@vc/domain/checklist';
import { assertNoPhi } from './phi-guard';
import type { ValidationReport } from './validation-report';

/** When and where a validation ran, and how long each check took (by `checkKey`), for the JUnit attributes. */
export interface JunitRun {
  startedAt: Date;
  hostname: string;
  /** Seconds per check, keyed by {@link checkKey}; a check missing here took no measurable time. */
  seconds: ReadonlyMap<string, number>;
  /**
   * Wall seconds per tenant, when its checks ran side by side (their times then overlap, and the suite's
   * time is this, not their sum).
   */
  tenantSeconds?: ReadonlyMap<string, number>;
}

export const checkKey = (tenant: string, id: string) => `${tenant}\u0000${id}`;

/** A run with no timings (tests, or a report rendered after the fact). */
export function untimedRun(startedAt = new Date()): JunitRun {
  return { startedAt, hostname: osHostname() || 'localhost', seconds: new Map() };
}

/**
 * What XML 1.0 allows in no document, not even as a character reference: C0 controls other than tab, LF
 * and CR, a surrogate without its pair, U+FFFE and U+FFFF. A tenant id, a sample or an error reason can
 * carry one (a legacy row, a driver's message); left in, the report would not parse and CI would drop it.
 */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes markup, and writes a character XML forbids as visible `\uXXXX` text, so a reader still sees it was there. */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (s: number) => s.toFixed(3);

/** The Ant schema wants the timestamp without a zone (it is UTC here) and without fractions. */
const antTimestamp = (at: Date) => at.toISOString().slice(0, 19);

function testcase(check: CheckResult, run: JunitRun): string {
  const open = `    <testcase name="${escapeXml(check.id)}" classname="validate.${escapeXml(check.tenant)}" time="${seconds(run.seconds.get(checkKey(check.tenant, check.id)) ?? 0)}">`;
  if (check.status === 'pass') return `${open}</testcase>`;
  const body = [`expected: ${JSON.stringify(check.expected)}`, `actual: ${JSON.stringify(check.actual)}`, `samples: ${check.samples.join(', ') || '(none)'}`].join('\n');
  const message =
    check.status === 'error'
      ? `${check.id} could not complete for tenant ${check.tenant}: ${JSON.stringify(check.actual)}`
      : `${check.id} failed for tenant ${check.tenant}: expected ${JSON.stringify(check.expected)}, actual ${JSON.stringify(check.actual)}; samples: ${check.samples.join(', ') || '(none)'}`;
  const element = check.status === 'error' ? 'error' : 'failure';
  return `${open}\n      <${element} type="${escapeXml(check.id)}" message="${escapeXml(message)}">${escapeXml(body)}</${element}>\n    </testcase>`;
}

/**
 * JUnit XML valid against both the Ant JUnit schema (the strict one many CI servers follow: every
 * testsuite has `id`, `package`, `timestamp`, `hostname`, `time`, `<properties>`, `<system-out>` and
 * `<system-err>`; the root carries no attributes) and Jenkins xUnit's. One `<testsuite>` per tenant,
 * one `<testcase>` per check; a failing check a `<failure>`, a check that could not complete an
 * `<error>`, whose type is the check id and whose message names the tenant and the legacy ids.
 */
export function renderJunit(report: ValidationReport, run: JunitRun = untimedRun()): string {
  assertNoPhi(report);
  const tenants = [...new Set(report.checks.map((c) => c.tenant))];
  const suites = tenants.map((tenant, index) => {
    const checks = report.checks.filter((c) => c.tenant === tenant);
    const count = (status: CheckResult['status']) => checks.filter((c) => c.status === status).length;
    const time = run.tenantSeconds?.get(tenant) ?? checks.reduce((sum, c) => sum + (run.seconds.get(checkKey(c.tenant, c.id)) ?? 0), 0);
    return [
      `  <testsuite name="${escapeXml(tenant)}" package="validate" id="${index}" timestamp="${antTimestamp(run.startedAt)}" hostname="${escapeXml(run.hostname)}"` +
        ` tests="${checks.length}" failures="${count('fail')}" errors="${count('error')}" skipped="0" time="${seconds(time)}">`,
      `    <properties>\n      <property name="tenant" value="${escapeXml(tenant)}"/>\n    </properties>`,
      ...checks.map((c) => testcase(c, run)),
      '    <system-out></system-out>',
      '    <system-err></system-err>',
      '  </testsuite>',
    ].join('\n');
  });
  return ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites>', ...suites, '</testsuites>', ''].join('\n');
}
