import type { CheckResult } from '@vc/domain/checklist';
import { describe, expect, it } from 'vitest';
import { buildValidationReport, renderJunit } from './index';
import { escapeXml } from './junit';
import { xmllint } from './testing/junit-schemas';

/** A JUnit report CI cannot parse is a report CI drops: whatever text a check carries, it must stay XML 1.0. */
const failing = (over: Partial<CheckResult>): CheckResult => ({
  id: 'sessions.reconciled',
  tenant: 'acme',
  status: 'fail',
  expected: { legacy: 1 },
  actual: { accounted: 0 },
  samples: ['VirtualSession:1'],
  ...over,
});

describe('renderJunit and characters XML 1.0 forbids', () => {
  it.each([
    ['a tenant id with ESC', failing({ tenant: 'ac\u001bme' })],
    ['an error reason with a control character', failing({ status: 'error', expected: null, actual: { error: 'IntegrationError: bad reply \u0001' }, samples: [] })],
    ['a sample with a vertical tab and a form feed', failing({ samples: ['VirtualSession:1\u000b', 'VirtualSession:2\u000c'] })],
    ['a sample with NUL', failing({ samples: ['VirtualSession:\u00003'] })],
    ['a lone surrogate and U+FFFE in a sample', failing({ samples: ['VirtualSession:\ud8004', 'VirtualSession:\ufffe5'] })],
  ])('stays well-formed and schema-valid with %s', async (_what, check) => {
    const xml = renderJunit(buildValidationReport([check]));
    expect(await xmllint(xml, 'ant')).toMatchObject({ code: 0 });
    expect(await xmllint(xml, 'jenkins')).toMatchObject({ code: 0 });
  });

  it('writes a forbidden character as visible \\uXXXX text, and keeps tab, newline and a paired surrogate', () => {
    expect(escapeXml('ac\u001bme')).toBe('ac\\u001bme');
    expect(escapeXml('a\u0000b\ufffe\udc00')).toBe('a\\u0000b\\ufffe\\udc00');
    expect(escapeXml('a\tb\nc \u{1f600} <&>')).toBe('a\tb\nc \u{1f600} &lt;&amp;&gt;');
  });

  it('shows the tenant id with its escape in the suite name', () => {
    const xml = renderJunit(buildValidationReport([failing({ tenant: 'ac\u001bme' })]));
    expect(xml).toContain('<testsuite name="ac\\u001bme"');
    expect(xml).not.toContain('\u001b');
  });
});
