/** Does the migrator's s1 summary agree with the generator's expected counts? (Speed means nothing if it loads the wrong rows.) */
import type { ExpectedCounts } from '@vc/fixtures';
import type { StepSummary } from './migrator';

const sum = (counts: Partial<Record<string, number>>): number => Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);

/** One line per disagreement (tenant, step, field, expected, actual); empty when all agree. */
export function countMismatches(expected: ExpectedCounts, steps: readonly StepSummary[]): string[] {
  const out: string[] = [];
  for (const [tenant, t] of Object.entries(expected.tenants)) {
    const step = (id: string): StepSummary | undefined => steps.find((s) => s.tenant === tenant && s.id === id);
    const checks: Array<[string, keyof StepSummary, number]> = [
      ['1.1', 'written', t.sessions.loaded],
      ['1.1', 'rejected', sum(t.sessions.rejected)],
      ['1.1', 'deferred', t.sessions.deferred],
      ['1.3', 'written', t.config.loaded ? 1 : 0],
      ['1.4', 'written', t.participants.loaded],
      ['1.4', 'rejected', sum(t.participants.rejectedEvents)],
    ];
    for (const [id, field, want] of checks) {
      const got = step(id)?.[field];
      if (got !== want) out.push(`${tenant} ${id} ${field}: expected ${want}, got ${String(got)}`);
    }
  }
  return out;
}
