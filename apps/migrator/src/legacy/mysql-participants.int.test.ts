import { groupParticipantEvents, mergeParticipant, parseParticipantEvent, tallyCodes, type LegacyAuditLog, type ParticipantAggregate } from '@vc/domain/legacy';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateOfGroup, foldWindow } from '../phases/s1/participant-groups';
import { PARTICIPANT_HISTORY } from '../phases/s1/participant-history';
import { createMysqlSource } from './mysql-source';
import type { LegacyRow, LegacySource } from './types';

/**
 * The participant fold pushed down into MariaDB gives exactly what the migrator's streaming fold gives on
 * the same rows — participants, per-row rejects and warnings, rows read — however the rows are cut into
 * windows, with the odd rows legacy holds among plain ones (odd case and whitespace, missing actors,
 * malformed payloads, zero dates, NULs, tied joins, joins out of time order across windows).
 */
const AS_OF = '2026-11-01T00:00:00Z';

let legacy: TestMysqlDatabase;
let source: LegacySource;
let tenant: string;

type Audit = Partial<Record<keyof LegacyAuditLog, string | null>>;

beforeAll(async () => {
  legacy = await createTestMysqlDatabase('vc_pushdown');
  await loadIntoMysql(legacy.url, { tenants: 2, sessions: 40, auditPerSession: 5, seed: 424242, asOf: new Date(AS_OF), databases: legacy.databases });
  const c = await mysql.createConnection(legacy.url);
  try {
    const [[first]] = await c.query<mysql.RowDataPacket[]>('select tenantId from AuditLog order by id limit 1');
    tenant = String(first!.tenantId);
    // Zero dates only go in under a lax sql_mode, as on the legacy servers that hold them.
    await c.query("SET SESSION sql_mode = ''");
    const row = (a: Audit) => ({
      tenantId: tenant,
      entityType: 'VirtualSession',
      entityId: '900001',
      action: 'participant.joined',
      actorRef: 'Patient/odd',
      actorDisplay: 'Ann',
      payload: null,
      occurredAt: '2025-03-01 10:00:00.000',
      ...a,
    });
    const odd: Audit[] = [
      { payload: '{"role":"interpreter"}', actorDisplay: 'First' },
      { occurredAt: '2025-03-01 10:00:00.000', actorDisplay: 'Tied, later id', payload: '{"role":"caregiver"}' },
      { action: 'participant.left', occurredAt: '2025-03-01 10:20:00.000', payload: '{"role":"other"}', actorDisplay: 'Leaver' },
      { actorRef: 'Patient/odd ', action: 'participant.left', occurredAt: '2025-03-01 11:00:00.000' },
      { actorRef: 'patient/ODD', occurredAt: '2025-03-01 09:00:00.000' },
      { actorRef: '\\N' },
      { actorRef: '' },
      { actorRef: null },
      { actorRef: '   ' },
      { entityType: 'virtualsession ', action: 'Participant.Left', occurredAt: '2025-03-01 12:00:00.000' },
      { payload: '{"role": "pat' },
      { payload: '   ' },
      { payload: '' },
      { payload: '{"role":"patient","role":"caregiver"}', actorRef: 'RelatedPerson/dup' },
      { payload: '{"role":"Practitioner "}', actorRef: 'Practitioner/9', entityId: ' 900002' },
      { actorDisplay: 'Nul\u0000name' },
      { occurredAt: '0000-00-00 00:00:00' },
      { action: 'participant.left', actorRef: 'Patient/ghost', occurredAt: '2025-03-01 10:30:00.000' },
      {
        action: 'participant.left',
        actorRef: 'Patient/ghost',
        occurredAt: '2025-03-01 10:40:00.000',
        actorDisplay: 'Ghost, later id',
        payload: '{"role":"caregiver"}',
      },
      { actorRef: 'Practitioner/9', entityId: '900002', occurredAt: '2025-02-01 08:00:00.000', actorDisplay: '  Dr Late-in-id  ' },
      { actorRef: 'Patient/ünï', actorDisplay: 'Ünï' },
      { actorDisplay: '\\N', actorRef: 'Patient/noname' },
      // A final newline: PCRE's `$` matches before it, so '^[!-~]+$' took these for plain refs.
      { actorRef: 'Patient/odd\n', occurredAt: '2025-03-01 08:00:00.000', actorDisplay: 'Newline actor' },
      { entityId: '900002\n', actorRef: 'Patient/nl', actorDisplay: 'Newline entity' },
      // A rejoin after a leave, its rows out of time order by id: the latest join is kept, not the latest event.
      { entityId: '900003', actorRef: 'Patient/rejoin', occurredAt: '2025-03-01 10:00:00.000' },
      { entityId: '900003', actorRef: 'Patient/rejoin', occurredAt: '2025-03-01 10:30:00.000' },
      { entityId: '900003', actorRef: 'Patient/rejoin', action: 'participant.left', occurredAt: '2025-03-01 10:15:00.000' },
      { entityId: '900003', actorRef: 'Patient/rejoin', occurredAt: '2025-03-01 10:20:00.000' },
      { entityId: '900003', actorRef: 'Patient/rejoin', action: 'participant.left', occurredAt: '2025-03-01 09:00:00.000' },
      // The role: the earliest join naming a known role decides, not the first join (docs/design.md §5).
      { entityId: '900004', actorRef: 'Practitioner/later', occurredAt: '2025-03-01 10:00:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/later', action: 'participant.left', occurredAt: '2025-03-01 10:05:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/later', payload: '{"role":"interpreter"}', occurredAt: '2025-03-01 10:06:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/later', payload: '{"role":"caregiver"}', occurredAt: '2025-03-01 10:10:00.000' },
      // Out of time order by id: the later id joined earlier.
      { entityId: '900004', actorRef: 'Practitioner/order', payload: '{"role":"caregiver"}', occurredAt: '2025-03-01 10:30:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/order', payload: '{"role":"interpreter"}', occurredAt: '2025-03-01 10:10:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/order', occurredAt: '2025-03-01 10:00:00.000' },
      // A role only the per-row parser reads (case, spaces) between plain rows.
      { entityId: '900004', actorRef: 'Practitioner/mixed', occurredAt: '2025-03-01 10:00:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/mixed', payload: '{"role":" Interpreter "}', occurredAt: '2025-03-01 10:01:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/mixed', payload: '{"role":"caregiver"}', occurredAt: '2025-03-01 10:02:00.000' },
      // Two payload roles joined at once: the lower id's.
      { entityId: '900004', actorRef: 'Practitioner/tie', payload: '{"role":"caregiver"}', occurredAt: '2025-03-01 10:00:00.000' },
      { entityId: '900004', actorRef: 'Practitioner/tie', payload: '{"role":"interpreter"}', occurredAt: '2025-03-01 10:00:00.000' },
      // An unknown role names none: the actor type decides.
      { entityId: '900004', actorRef: 'Practitioner/unknown', payload: '{"role":"wizard"}', occurredAt: '2025-03-01 10:00:00.000' },
    ];
    for (const a of odd) await c.query('INSERT INTO AuditLog SET ?', [row(a)]);
  } finally {
    await c.end();
  }
  source = createMysqlSource(legacy.url, undefined, { pushdown: true });
}, 120_000);

afterAll(async () => {
  await source?.close();
  await legacy?.drop();
});

interface Fold {
  participants: ParticipantAggregate[];
  rejects: string[];
  warnings: Record<string, number>;
  read: number;
}

const keyOf = (a: ParticipantAggregate) => `${a.sessionLegacyId}\u0000${a.actorRef}`;
const sorted = (all: Map<string, ParticipantAggregate>) => [...all.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));

function foldInto(all: Map<string, ParticipantAggregate>, batch: readonly ParticipantAggregate[]): void {
  for (const a of batch) all.set(keyOf(a), all.has(keyOf(a)) ? mergeParticipant(all.get(keyOf(a))!, a) : a);
}

function parseRows(rows: readonly LegacyRow[], out: Fold) {
  const events = [];
  for (const row of rows) {
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    if (parsed.kind === 'event') {
      events.push(parsed.event);
      for (const [code, n] of Object.entries(tallyCodes([parsed.warnings]))) out.warnings[code] = (out.warnings[code] ?? 0) + (n as number);
    } else if (parsed.kind === 'reject') out.rejects.push(`${row.id} ${parsed.reason}`);
  }
  return events;
}

async function streaming(batchSize: number): Promise<Fold> {
  const out: Fold = { participants: [], rejects: [], warnings: {}, read: 0 };
  const all = new Map<string, ParticipantAggregate>();
  for await (const batch of source.read('AuditLog', { tenantId: tenant, where: PARTICIPANT_HISTORY, batchSize })) {
    out.read += batch.rows.length;
    foldInto(all, groupParticipantEvents(parseRows(batch.rows, out)));
  }
  return { ...out, participants: sorted(all), rejects: out.rejects.sort() };
}

async function pushedDown(batchSize: number, after: string | null = null, resumed?: Fold): Promise<Fold & { positions: string[] }> {
  const out: Fold = resumed
    ? { ...resumed, rejects: [...resumed.rejects], warnings: { ...resumed.warnings } }
    : { participants: [], rejects: [], warnings: {}, read: 0 };
  const all = new Map<string, ParticipantAggregate>(resumed?.participants.map((p) => [keyOf(p), p]));
  const positions: string[] = [];
  for await (const window of source.participants!.windows({ tenantId: tenant, where: PARTICIPANT_HISTORY, batchSize, after })) {
    out.read += window.rows.length + window.groups.reduce((n, g) => n + g.events, 0);
    foldInto(all, foldWindow(window.groups.map(aggregateOfGroup), parseRows(window.rows, out)));
    positions.push(window.position);
  }
  return { ...out, participants: sorted(all), rejects: out.rejects.sort(), positions };
}

describe('the participant fold pushed down into MariaDB', () => {
  it('equals the streaming fold of the same rows, for any window size', async () => {
    const reference = await streaming(1000);
    expect(reference.rejects.map((r) => r.split(' ')[1]).sort()).toEqual(
      expect.arrayContaining(['invalid_datetime', 'invalid_text', 'missing_actor', 'missing_actor', 'missing_actor', 'missing_actor']),
    );
    expect(reference.warnings.malformed_payload).toBeGreaterThanOrEqual(1);
    expect(reference.participants.find((p) => p.actorRef === 'Patient/rejoin')).toMatchObject({
      firstJoinedAt: new Date('2025-03-01T10:00:00Z'),
      lastLeftAt: new Date('2025-03-01T10:15:00Z'),
      lastJoinedAt: new Date('2025-03-01T10:30:00Z'),
      joinCount: 3,
    });
    for (const size of [1, 3, 17, 10_000]) {
      const { positions, ...fold } = await pushedDown(size);
      expect({ size, ...fold }).toEqual({ size, ...reference });
      expect(positions).toEqual([...positions].sort((a, b) => Number(a) - Number(b)));
    }
  }, 60_000);

  it('takes the role from the earliest join naming a known role, later or out of id order, as the streaming fold does', async () => {
    const roles = (fold: Fold) => Object.fromEntries(fold.participants.filter((p) => p.sessionLegacyId === '900004').map((p) => [p.actorRef, p.role]));
    const expected = {
      'Practitioner/later': 'interpreter',
      'Practitioner/order': 'interpreter',
      'Practitioner/mixed': 'interpreter',
      'Practitioner/tie': 'caregiver',
      'Practitioner/unknown': 'practitioner',
    };
    expect(roles(await streaming(1000))).toEqual(expected);
    for (const size of [1, 2, 10_000]) expect(roles(await pushedDown(size))).toEqual(expected);
  }, 60_000);

  it('groups rows, so far fewer cross the wire than the events they fold', async () => {
    let groups = 0;
    let events = 0;
    for await (const w of source.participants!.windows({ tenantId: tenant, where: PARTICIPANT_HISTORY, batchSize: 10_000 })) {
      groups += w.groups.length;
      events += w.groups.reduce((n, g) => n + g.events, 0);
    }
    expect(events).toBeGreaterThan(groups);
  });

  it('resumes after any window position with the same result', async () => {
    const reference = await streaming(1000);
    const first = await pushedDown(5);
    const cut = first.positions[Math.floor(first.positions.length / 2)]!;
    // The fold up to `cut`, then the rest from `cut` on: as a resumed step would.
    const upTo: Fold = { participants: [], rejects: [], warnings: {}, read: 0 };
    const all = new Map<string, ParticipantAggregate>();
    for await (const window of source.participants!.windows({ tenantId: tenant, where: PARTICIPANT_HISTORY, batchSize: 5 })) {
      upTo.read += window.rows.length + window.groups.reduce((n, g) => n + g.events, 0);
      foldInto(all, foldWindow(window.groups.map(aggregateOfGroup), parseRows(window.rows, upTo)));
      if (window.position === cut) break;
    }
    const { positions: _, ...rest } = await pushedDown(5, cut, { ...upTo, participants: sorted(all) });
    expect(rest).toEqual(reference);
  }, 60_000);

  it('gives whole raw rows of the groups of named sessions (orphans are rejected per source row)', async () => {
    const [window] = await (async () => {
      const ws = [];
      for await (const w of source.participants!.windows({ tenantId: tenant, where: PARTICIPANT_HISTORY, batchSize: 10_000 })) ws.push(w);
      return ws;
    })();
    const session = window!.groups[0]!.entityId;
    const rows = await source.participants!.plainRows({ tenantId: tenant, where: PARTICIPANT_HISTORY, batchSize: 10_000 }, window!, [session]);
    const expectedRows = window!.groups.filter((g) => g.entityId === session).reduce((n, g) => n + g.events, 0);
    expect(rows.map((r) => r.entityId)).toEqual(Array(expectedRows).fill(session));
    expect(Object.keys(rows[0]!).sort()).toEqual(['action', 'actorDisplay', 'actorRef', 'entityId', 'entityType', 'id', 'occurredAt', 'payload', 'tenantId']);
  });
});
