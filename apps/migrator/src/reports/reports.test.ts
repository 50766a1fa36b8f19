import type { CheckResult } from '@vc/domain/checklist';
import { describe, expect, it } from 'vitest';
import { assertNoPhi, buildValidationReport, parseReportFormats, renderJson, renderJunit, renderMarkdown } from './index';

const pass: CheckResult = { id: 'sessions.reconciled', tenant: 'acme', status: 'pass', expected: { legacy: 3 }, actual: { loaded: 3, rejected: 0, deferred: 0, accounted: 3 }, samples: [] };
const fail: CheckResult = { id: 'encounters.ended_sessions', tenant: 'broken', status: 'fail', expected: { missing: 0 }, actual: { missing: 2 }, samples: ['VirtualSession:17', 'VirtualSession:18'] };

describe('buildValidationReport', () => {
  it('has exactly the DESIGN §8 shape and fails when any check fails', () => {
    expect(buildValidationReport([fail, pass])).toEqual({ status: 'fail', checks: [pass, fail] });
  });
  it('passes when every check passes', () => {
    expect(buildValidationReport([pass]).status).toBe('pass');
  });
});

describe('renderJunit', () => {
  const xml = renderJunit(buildValidationReport([pass, fail]));
  it('makes each check a testcase and counts failures', () => {
    expect(xml).toContain('<testsuites name="migrator validate" tests="2" failures="1" errors="0">');
    expect(xml).toContain('<testcase classname="validate.acme" name="sessions.reconciled"></testcase>');
  });
  it('gives a failing check a <failure> that names it', () => {
    expect(xml).toMatch(/<testcase classname="validate\.broken" name="encounters\.ended_sessions">\n\s+<failure type="encounters\.ended_sessions" message="encounters\.ended_sessions failed for tenant broken/);
    expect(xml).toContain('samples: VirtualSession:17, VirtualSession:18</failure>');
  });
  it('escapes XML metacharacters', () => {
    const odd = renderJunit(buildValidationReport([{ ...fail, tenant: 'a<b&"c' }]));
    expect(odd).toContain('classname="validate.a&lt;b&amp;&quot;c"');
  });
});

describe('renderMarkdown', () => {
  it('leads with the verdict and tabulates each tenant', () => {
    const md = renderMarkdown(buildValidationReport([pass, fail]));
    expect(md.split('\n').slice(0, 3)).toEqual(['# Migration validation: FAIL', '', '2 checks over 2 tenant(s); 1 failed.']);
    expect(md).toContain('| encounters.ended_sessions | **FAIL** | {"missing":0} | {"missing":2} | VirtualSession:17, VirtualSession:18 |');
  });
});

describe('assertNoPhi', () => {
  it.each([
    ['a patient reference', { samples: ['Patient/123'] }, '$.samples[0]', 'a FHIR reference'],
    ['a URL', { detail: 'see https://jitsi.example/x' }, '$.detail', 'a URL'],
    ['an e-mail address', { a: { b: 'jane@example.org' } }, '$.a.b', 'an e-mail address'],
    ['a JWT', { t: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig' }, '$.t', 'a token or key'],
    ['a base64 secret', { s: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==' }, '$.s', 'a token or key'],
  ])('refuses %s, naming the path but not the value', (_name, value, path, what) => {
    expect(() => assertNoPhi(value)).toThrow(`report refused: ${path} looks like ${what}`);
  });
  it('accepts legacy ids, counts, codes, uuids and ISO times', () => {
    expect(() => assertNoPhi({ samples: ['VirtualSession:42', 'check:config_js'], id: '00000000-0000-4000-8000-000000000001', at: '2026-05-10T10:00:00.000Z', n: 3 })).not.toThrow();
  });
  it('guards every renderer', () => {
    const leaky = buildValidationReport([{ ...fail, samples: ['Patient/9'] }]);
    expect(() => renderJson(leaky)).toThrow(/report refused/);
    expect(() => renderJunit(leaky)).toThrow(/report refused/);
    expect(() => renderMarkdown(leaky)).toThrow(/report refused/);
  });
});

describe('parseReportFormats', () => {
  it('reads a comma list, dropping repeats', () => {
    expect(parseReportFormats('json, junit,md,json')).toEqual(['json', 'junit', 'md']);
  });
  it('refuses an unknown format naming the allowed ones', () => {
    expect(() => parseReportFormats('json,html')).toThrow('--report expects a comma list of json|junit|md, got "html"');
  });
});
