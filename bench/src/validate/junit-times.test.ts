import { describe, expect, it } from 'vitest';
import { byCheck, byTenant, checkTimes } from './junit-times';

const XML = `<testsuite name="acme">
    <testcase name="sessions.reconciled" classname="validate.acme" time="1.500"></testcase>
    <testcase name="encounters.ended_sessions" classname="validate.acme" time="0.250">
    <testcase name="sessions.reconciled" classname="validate.globex" time="2.000"></testcase>`;

describe('validate check times from the JUnit report', () => {
  it('reads each testcase, then sums per check (slowest first) and per tenant', () => {
    const times = checkTimes(XML);
    expect(times).toEqual([
      { check: 'sessions.reconciled', tenant: 'acme', seconds: 1.5 },
      { check: 'encounters.ended_sessions', tenant: 'acme', seconds: 0.25 },
      { check: 'sessions.reconciled', tenant: 'globex', seconds: 2 },
    ]);
    expect(byCheck(times)).toEqual([
      { check: 'sessions.reconciled', maxSeconds: 2, totalSeconds: 3.5 },
      { check: 'encounters.ended_sessions', maxSeconds: 0.25, totalSeconds: 0.25 },
    ]);
    expect(byTenant(times)).toEqual({ acme: 1.75, globex: 2 });
  });

  it("takes a tenant's wall time from its testsuite when the report has one (its checks overlap)", () => {
    const xml = `<testsuite name="acme" package="validate" id="0" tests="2" skipped="0" time="1.200">${XML.slice(XML.indexOf('\n'))}`;
    expect(byTenant(checkTimes(xml), xml)).toEqual({ acme: 1.2, globex: 2 });
  });
});
