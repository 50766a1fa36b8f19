import { describe, expect, it } from 'vitest';
import { gateFailures, type StepState, type TenantGateFacts } from './rules';

const done = (...ids: string[]): StepState[] => ids.map((id) => ({ id, status: 'done' }));
const S1 = done('1.1', '1.2', '1.3', '1.4', '1.5');
const S2 = done('2.2', '2.3', '2.4');
const at = (iso: string) => new Date(iso);
const facts = (over: Partial<TenantGateFacts> = {}): TenantGateFacts => ({
  tenant: 'acme',
  s1: S1,
  s2: S2,
  s2Decision: { decision: 'go', reasons: [] },
  lastRunAt: at('2026-11-02T10:00:00Z'),
  lastRunPhase: 's3',
  validation: { status: 'pass', startedAt: at('2026-11-02T11:00:00Z'), failedChecks: [] },
  ...over,
});

/** One row per gate outcome: the phase, the facts, and the gates (with their why) that fail. */
const CASES: Array<[string, Parameters<typeof gateFailures>[0], TenantGateFacts, string[]]> = [
  ['s1 and s0 have no gate', 's1', facts({ s1: [], s2: [] }), []],
  ['s2 after s1 done', 's2', facts(), []],
  ['s2 before s1 ran', 's2', facts({ s1: S1.map((s) => ({ ...s, status: 'pending' })) }), ['s1-done: s1 has not run']],
  [
    's3 with s1 failed at 1.3',
    's3',
    facts({ s1: [...done('1.1', '1.2'), { id: '1.3', status: 'failed', error: 'KMS denied' }, ...done('1.4', '1.5')] }),
    ['s1-done: s1 1.3 failed: KMS denied'],
  ],
  ['s3 with s1 stopped after 1.2', 's3', facts({ s1: [...done('1.1', '1.2'), { id: '1.3', status: 'pending' }] }), ['s1-done: s1 1.3 has not run yet']],
  ['s4 with everything in order', 's4', facts(), []],
  [
    's4 after a no-go',
    's4',
    facts({
      s2Decision: { decision: 'no_go', reasons: ['status mismatches 3'] },
      s2: [...done('2.2'), { id: '2.3', status: 'failed' }, { id: '2.4', status: 'pending' }],
    }),
    ['s2-go: s2 2.3 parallel run is NO-GO (status mismatches 3)'],
  ],
  [
    's4 with s2 failed at 2.2',
    's4',
    facts({
      s2Decision: undefined,
      s2: [
        { id: '2.2', status: 'failed', error: 'no config' },
        { id: '2.3', status: 'pending' },
        { id: '2.4', status: 'pending' },
      ],
    }),
    ['s2-go: s2 is not GO: s2 2.2 failed: no config'],
  ],
  ['s4 never validated', 's4', facts({ validation: undefined }), ['validate-pass: no `migrator validate` recorded for the tenant']],
  [
    's4 after a failing validate',
    's4',
    facts({ validation: { status: 'fail', startedAt: at('2026-11-02T11:00:00Z'), failedChecks: ['configs.migrated'] } }),
    ['validate-pass: the last validate (2026-11-02T11:00:00.000Z) failed: configs.migrated'],
  ],
  [
    's4 with validate older than the last run',
    's4',
    facts({ lastRunAt: at('2026-11-02T12:00:00Z') }),
    ["validate-fresh: the last passing validate (2026-11-02T11:00:00.000Z) is older than the tenant's last s3 run (2026-11-02T12:00:00.000Z)"],
  ],
  ['s4 with validate started the instant the last run ended', 's4', facts({ lastRunAt: at('2026-11-02T11:00:00Z') }), []],
  [
    's3 after the cutover',
    's3',
    facts({ cutOverAt: at('2026-11-03T09:00:00Z') }),
    [
      "not-cut-over: the tenant was cut over at 2026-11-03T09:00:00.000Z: access-policy now holds the consents given or revoked since, which legacy's would overwrite",
    ],
  ],
  ['s2 after the cutover (its checks read, S2 writes no consent)', 's2', facts({ cutOverAt: at('2026-11-03T09:00:00Z') }), []],
];

describe('phase gates', () => {
  it.each(CASES)('%s', (_name, phase, input, expected) => {
    expect(gateFailures(phase, input).map((f) => `${f.gate}: ${f.why}`)).toEqual(expected);
  });

  it('each failure names the command that clears it', () => {
    const clears = [
      gateFailures('s2', facts({ tenant: 'globex', s1: [{ id: '1.1', status: 'pending' }] })),
      gateFailures('s4', facts({ tenant: 'globex', s2Decision: { decision: 'no_go', reasons: [] } })),
      gateFailures('s4', facts({ tenant: 'globex', validation: undefined })),
    ].map((f) => f[0]!.clear);
    expect(clears).toEqual(['pnpm migrator phase s1 --tenant globex', 'pnpm migrator phase s2 --tenant globex', 'pnpm migrator validate --tenant globex']);
  });
});
