/** Seconds per check and tenant, from the JUnit report `migrator validate --report junit` writes (its testcase `time`). */
export interface CheckTime {
  tenant: string;
  check: string;
  seconds: number;
}

const TESTCASE = /<testcase name="([^"]+)" classname="validate\.([^"]+)" time="([0-9.]+)"/g;
const unescape = (text: string): string =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export function checkTimes(junitXml: string): CheckTime[] {
  return [...junitXml.matchAll(TESTCASE)].map((m) => ({ check: unescape(m[1]!), tenant: unescape(m[2]!), seconds: Number(m[3]) }));
}

/** Per check: the slowest tenant's time and the sum over tenants, slowest first. */
export function byCheck(times: readonly CheckTime[]): Array<{ check: string; maxSeconds: number; totalSeconds: number }> {
  const out = new Map<string, { check: string; maxSeconds: number; totalSeconds: number }>();
  for (const t of times) {
    const row = out.get(t.check) ?? { check: t.check, maxSeconds: 0, totalSeconds: 0 };
    row.maxSeconds = Math.max(row.maxSeconds, t.seconds);
    row.totalSeconds += t.seconds;
    out.set(t.check, row);
  }
  return [...out.values()].sort((a, b) => b.totalSeconds - a.totalSeconds);
}

const TESTSUITE = /<testsuite name="([^"]+)"[^>]* time="([0-9.]+)"/g;

/**
 * Per tenant: its testsuite's time, the tenant's wall time (validate runs tenants one after another, and
 * a tenant's checks side by side, so their times overlap); the sum of its checks where a report has no suite time.
 */
export function byTenant(times: readonly CheckTime[], junitXml = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of times) out[t.tenant] = (out[t.tenant] ?? 0) + t.seconds;
  for (const m of junitXml.matchAll(TESTSUITE)) out[unescape(m[1]!)] = Number(m[2]);
  return out;
}
