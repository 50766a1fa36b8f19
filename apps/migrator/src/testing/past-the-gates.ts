/**
 * Test support: the flags a test of one phase alone passes to run it without the phases the gates want
 * before it (`--force --reason`, recorded like an operator's). The gates themselves are tested in
 * gates/gates.int.test.ts; a test about the pipeline satisfies them instead.
 */
export const PAST_THE_GATES = ['--force', '--reason', 'test of this phase alone; the gates are tested in gates/gates.int.test.ts'] as const;
