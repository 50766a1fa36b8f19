import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { FOLD_KINDS, foldSources, participantsFingerprint, phaseRun } from '../s4/testing/fold-sources';
import { startLegacyHarness, type LegacyHarness } from '../s4/testing/legacy-harness';
import { exportCsv } from '../s4/testing/legacy-mutations';
import { eventValues, insertRows, sessionValues, type LegacyRowValues } from '../s4/testing/legacy-rows';

/**
 * docs/design.md §5: a participant's role is the payload role of their earliest join that names a known one, else
 * the one guessed from the actor's type. Every fold of legacy participant history gives it — S1 1.4 from MariaDB
 * (with and without the pushdown) and from a CSV export, its batches merged in SQL (two events a batch), S4's
 * refold — and validate's participants fingerprint (the domain fold) agrees with what they wrote.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const LATER = '2026-12-01T00:00:00Z';
const BATCH = ['--batch-size', '2'];

let harness: LegacyHarness;

beforeAll(async () => {
  harness = await startLegacyHarness('role', { sessions: 3, seed: 23, asOf: AS_OF });
}, 180_000);

afterAll(() => harness?.close());

const insert = (table: 'VirtualSession' | 'AuditLog', rows: LegacyRowValues[]) => insertRows(harness.mariadb, table, rows);
const event = (tenant: string, id: string, actorRef: string, hhmm: string, extra: LegacyRowValues = {}) =>
  eventValues(tenant, id, { actorRef, occurredAt: `2026-10-01 ${hhmm}:00`, ...extra });

/**
 * A session whose interpreter joined first with no payload role, left, and came back with `interpreter`; whose
 * caregiver's earliest role-naming join is stored after a later one; and whose practitioner never names a role.
 */
async function roleSession(tenant: string): Promise<string> {
  const [id] = await insert('VirtualSession', [sessionValues(tenant)]);
  await insert('AuditLog', [
    event(tenant, id!, 'Practitioner/i-1', '10:01'),
    event(tenant, id!, 'Practitioner/i-1', '10:04', { action: 'participant.left' }),
    event(tenant, id!, 'Practitioner/i-1', '10:05', { payload: '{"role":"interpreter"}' }),
    event(tenant, id!, 'RelatedPerson/c-1', '10:02'),
    event(tenant, id!, 'RelatedPerson/c-1', '10:09', { payload: '{"role":"other"}' }),
    event(tenant, id!, 'RelatedPerson/c-1', '10:06', { payload: '{"role":"caregiver"}' }),
    event(tenant, id!, 'Practitioner/d-1', '10:00', { payload: '{"role":"wizard"}' }),
  ]);
  return id!;
}

const EXPECTED = [
  { participant_ref: 'Practitioner/d-1', role: 'practitioner' },
  { participant_ref: 'Practitioner/i-1', role: 'interpreter' },
  { participant_ref: 'RelatedPerson/c-1', role: 'caregiver' },
];

async function rolesOf(tenant: string, legacyId: string) {
  const { rows } = await harness.client.query(
    `select p.participant_ref, p.role from session_participants p join virtual_sessions s on s.id = p.session_id
      where s.tenant_id = $1 and s.legacy_id = $2 order by p.participant_ref`,
    [tenant, legacyId],
  );
  return rows;
}

describe("a participant's role: the earliest join naming a known role, from every fold", () => {
  const ids = new Map<string, string>();
  let dir: string;
  const sources = foldSources(
    () => harness,
    () => dir,
  );

  beforeAll(async () => {
    for (const kind of FOLD_KINDS) ids.set(kind, await roleSession(`role-${kind}`));
    dir = await mkdtemp(join(harness.work, 'csv-'));
    await exportCsv(harness.legacy.url, dir);
  }, 60_000);

  it.each(FOLD_KINDS)(
    '%s: S1 1.4 writes the role of the earliest join naming one, and validate agrees',
    async (kind) => {
      const tenant = `role-${kind}`;
      const run = await phaseRun(harness, tenant, sources.env(kind), 'phase', 's1', '--as-of', AS_OF, ...BATCH);
      expect(run.code, run.error).toBe(0);
      expect(await rolesOf(tenant, ids.get(kind)!)).toEqual(EXPECTED);
      const source = sources.source(kind);
      try {
        expect(await participantsFingerprint(harness, tenant, source)).toEqual(kind === 'csv' ? { byId: 'pass' } : { byId: 'pass', streamedAgrees: true });
      } finally {
        await source.close();
      }
    },
    120_000,
  );

  it("S4's refold gives a row an older release folded (role of the first join) the role of the earliest join naming one", async () => {
    const tenant = 'role-mysql';
    const id = ids.get('mysql')!;
    // As a release that took the first join's role left it: the interpreter guessed from the actor type.
    await harness.client.query(
      `update session_participants p set role = 'practitioner', role_joined_at = null from virtual_sessions s
        where s.id = p.session_id and s.tenant_id = $1 and s.legacy_id = $2 and p.participant_ref = 'Practitioner/i-1'`,
      [tenant, id],
    );
    const s4 = await phaseRun(
      harness,
      tenant,
      { VC_LEGACY_DATABASE_URL: harness.legacy.url },
      'phase',
      's4',
      '--as-of',
      LATER,
      '--service-upstream',
      'http://vc.internal:8080',
      ...BATCH,
      ...PAST_THE_GATES,
    );
    expect(s4.code, s4.error).toBe(0);
    expect(await rolesOf(tenant, id)).toEqual(EXPECTED);
  }, 180_000);
});
