import type { CheckResult } from '@vc/domain/checklist';
import { compareParallelRun, type LegacySide } from '@vc/domain/parallel-run';
import { describe, expect, it } from 'vitest';
import { assertNoPhi, buildValidationReport, checkKey, parseReportFormats, renderJson, renderJunit, renderMarkdown, renderParallelRunMarkdown } from './index';
import { markdownCell } from './markdown-cell';
import { xmllint } from './testing/junit-schemas';

const pass: CheckResult = { id: 'sessions.reconciled', tenant: 'acme', status: 'pass', expected: { legacy: 3 }, actual: { loaded: 3, rejected: 0, deferred: 0, accounted: 3 }, samples: [] };
const fail: CheckResult = { id: 'encounters.ended_sessions', tenant: 'broken', status: 'fail', expected: { missing: 0 }, actual: { missing: 2 }, samples: ['VirtualSession:17', 'VirtualSession:18'] };

describe('buildValidationReport', () => {
  it('has exactly the docs/design.md §8 shape and fails when any check fails', () => {
    expect(buildValidationReport([fail, pass])).toEqual({ status: 'fail', checks: [pass, fail] });
  });
  it('passes when every check passes', () => {
    expect(buildValidationReport([pass]).status).toBe('pass');
  });
});

describe('renderJunit', () => {
  const errored: CheckResult = { id: 'encounters.ended_sessions', tenant: 'slow', status: 'error', expected: null, actual: { error: 'FHIR GET Encounter failed: no answer within 10000 ms' }, samples: [] };
  const run = { startedAt: new Date('2026-11-01T10:00:00.123Z'), hostname: 'ci-runner', seconds: new Map([[checkKey('broken', 'encounters.ended_sessions'), 1.5]]) };
  const xml = renderJunit(buildValidationReport([pass, fail, errored]), run);
  it('makes each tenant a suite with the attributes both schemas want, and each check a testcase', () => {
    expect(xml).toContain('<testsuite name="broken" package="validate" id="1" timestamp="2026-11-01T10:00:00" hostname="ci-runner" tests="1" failures="1" errors="0" skipped="0" time="1.500">');
    expect(xml).toContain('<testcase name="sessions.reconciled" classname="validate.acme" time="0.000"></testcase>');
  });
  it('gives a failing check a <failure> that names it and its legacy ids', () => {
    expect(xml).toMatch(/<testcase name="encounters\.ended_sessions" classname="validate\.broken" time="1\.500">\n\s+<failure type="encounters\.ended_sessions" message="encounters\.ended_sessions failed for tenant broken: [^"]*samples: VirtualSession:17, VirtualSession:18"/);
    expect(xml).toContain('samples: VirtualSession:17, VirtualSession:18</failure>');
  });
  it('gives a check that could not complete an <error> with the reason', () => {
    expect(xml).toContain('<error type="encounters.ended_sessions" message="encounters.ended_sessions could not complete for tenant slow: {&quot;error&quot;:&quot;FHIR GET Encounter failed: no answer within 10000 ms&quot;}">');
    expect(xml).toContain('tests="1" failures="0" errors="1"');
  });
  it.each(['ant', 'jenkins'] as const)('passes the %s JUnit schema (xmllint), and a report missing what it requires does not', async (schema) => {
    expect(await xmllint(xml, schema)).toMatchObject({ code: 0 });
    expect(await xmllint(renderJunit(buildValidationReport([pass]), run), schema)).toMatchObject({ code: 0 });
    const broken = xml.replace(/ name="broken"/, '').replace(/ tests="1" failures="1"/, '');
    expect((await xmllint(broken, schema)).code).not.toBe(0);
  });
  it('escapes XML metacharacters', () => {
    const odd = renderJunit(buildValidationReport([{ ...fail, tenant: 'a<b&"c' }]), run);
    expect(odd).toContain('classname="validate.a&lt;b&amp;&quot;c"');
  });
});

describe('renderMarkdown', () => {
  it('leads with the verdict and tabulates each tenant', () => {
    const md = renderMarkdown(buildValidationReport([pass, fail]));
    expect(md.split('\n').slice(0, 3)).toEqual(['# Migration validation: FAIL', '', '2 checks over 2 tenant(s); 1 failed.']);
    expect(md).toContain('| encounters.ended_sessions | **FAIL** | {"missing":0} | {"missing":2} | VirtualSession:17, VirtualSession:18 |');
  });
  it('keeps a sample holding a | or a line break inside its cell', () => {
    const md = renderMarkdown(buildValidationReport([{ ...fail, samples: ['VirtualSession.csv:7|x', 'a\n# injected'] }]));
    expect(md).toContain('| VirtualSession.csv:7\\|x, a<br># injected |');
    expect(md.split('\n').filter((l) => l.startsWith('#'))).toEqual(['# Migration validation: FAIL', '## Tenant broken']);
  });
});

describe('markdownCell', () => {
  it.each([
    ['a | b', 'a \\| b'],
    ['a\\|b', 'a\\\\\\|b'],
    ['one\ntwo\r\nthree\rfour', 'one<br>two<br>three<br>four'],
    [{ missing: 2 }, '{"missing":2}'],
    ['plain', 'plain'],
  ])('shows %j as one cell', (value, cell) => {
    expect(markdownCell(value)).toBe(cell);
  });
});

describe('renderParallelRunMarkdown', () => {
  const at = (hh: string) => new Date(`2026-05-10T${hh}:00:00.000Z`);
  const legacy = (o: Partial<LegacySide>): LegacySide => ({
    legacyId: '1',
    externalId: null,
    tenantId: 't1',
    patientRef: 'Patient/p1',
    practitionerRef: 'Practitioner/d1',
    scheduledStart: at('10'),
    status: 'completed',
    startedAt: at('10'),
    endedAt: at('11'),
    participantRefs: [],
    hasEncounter: false,
    billingCodes: [],
    ...o,
  });
  const options = {
    window: { from: at('00'), to: at('23') },
    durationToleranceSeconds: 60,
    mismatchTolerance: 0,
    minParallelPairs: 0,
    maxUnmatched: 0,
    fhirEraStart: null,
    serviceMode: 'live' as const,
    maxSamplesPerField: 5,
  };

  it("never shows legacy's free-text status, and a legacy id of a CSV export cannot break the table", () => {
    const hostile = 'cancelled by daughter jane doe | see chart\n# NO-GO overridden';
    const report = compareParallelRun('t1', [legacy({ legacyId: '7|x\n# GO', status: hostile })], [], options);
    const md = renderParallelRunMarkdown(report);
    for (const text of [md, renderJson(report)]) expect(text).not.toMatch(/jane|daughter|chart/);
    expect(md.split('\n').filter((l) => l.startsWith('# '))).toEqual(['# Parallel run t1: NO-GO']);
    expect(md).toContain('| unmatched | legacy_only | 7\\|x<br># GO |  | unknown | null |');
  });

  it('shows why a field was not judged, e.g. an Encounter shadow mode suppressed', () => {
    const candidate = { ...legacy({ hasEncounter: false }), id: '00000000-0000-4000-8000-000000000001', legacyId: null, status: 'ended' as const };
    const report = compareParallelRun('t1', [legacy({ hasEncounter: true })], [candidate], { ...options, serviceMode: 'shadow' });
    expect(renderParallelRunMarkdown(report)).toContain('| encounter | 0 | 0 | 1 | suppressed_in_shadow 1 | 0.0000 | 0.0000 |');
  });
});

describe('assertNoPhi', () => {
  it.each([
    ['a patient reference', { samples: ['Patient/123'] }, '$.samples[0]', 'a FHIR reference'],
    ['a lower-cased patient reference', { status: 'cancelled see patient/p1' }, '$.status', 'a FHIR reference'],
    ['an upper-cased practitioner reference', { s: 'PRACTITIONER/d1' }, '$.s', 'a FHIR reference'],
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
