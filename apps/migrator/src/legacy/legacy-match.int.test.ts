import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalise, parseParticipantEvent, PARTICIPANT_ACTIONS, type LegacyAuditLog } from '@vc/domain/legacy';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyTenantList } from '../engine/known-tenants';
import { PARTICIPANT_HISTORY, PARTICIPANT_HISTORY_BY_ENTITY } from '../phases/s1/participant-history';
import { exportCsv } from '../phases/s4/testing/legacy-mutations';
import { createCsvSource } from './csv-source';
import { createMysqlSource } from './mysql-source';
import type { LegacySource, LegacyTable, ReadOptions } from './types';

/**
 * Both readers hand the domain parser every row the domain rule accepts (values trimmed, any case), from the
 * same rows in MariaDB and in a CSV export of them: MariaDB's `in` alone misses a leading space or a trailing
 * tab, a CSV export's exact compare misses any other case. And both tell tenants apart as legacy's collation does.
 */
const TENANT = 'match';
const ENTITY_TYPES = [
  'VirtualSession',
  'virtualsession',
  'VIRTUALSESSION  ',
  ' VirtualSession',
  'VirtualSession\t',
  '\u00a0VirtualSession',
  'VirtualSession\r\n',
  'Virtual Session',
  'Participant',
];
const ACTIONS = [
  'participant.joined',
  'Participant.Joined',
  ' participant.left',
  'participant.left\n',
  '\u3000PARTICIPANT.JOINED',
  'participant.joined.',
  'session.started',
];
const ENTITY_IDS = ['42', ' 42', '42 ', '42\t', '4 2', '43'];

let legacy: TestMysqlDatabase;
let work: string;
let mysqlSource: LegacySource;
let csvSource: LegacySource;

beforeAll(async () => {
  [legacy, work] = await Promise.all([createTestMysqlDatabase('vc_match'), mkdtemp(join(tmpdir(), 'vc-match-'))]);
  await loadIntoMysql(legacy.url, {
    tenants: 1,
    sessions: 2,
    auditPerSession: 1,
    seed: 5,
    asOf: new Date('2026-11-01T00:00:00Z'),
    databases: legacy.databases,
  });
  const c = await mysql.createConnection(legacy.url);
  try {
    const event = (entityType: string, action: string, entityId: string, tenantId = TENANT) => ({
      tenantId,
      entityType,
      entityId,
      action,
      actorRef: 'Patient/p-1',
      actorDisplay: null,
      payload: null,
      occurredAt: '2026-10-01 10:01:00',
    });
    const rows = [
      ...ENTITY_TYPES.flatMap((type) => ACTIONS.map((action) => event(type, action, '42'))),
      ...ENTITY_IDS.map((id) => event('VirtualSession', 'participant.joined', id)),
      ...ENTITY_IDS.map((id) => event(' virtualSession', 'participant.left', id)),
      // Rows of the tenant spelled otherwise: legacy's own queries read them for `match`.
      event('VirtualSession', 'participant.joined', '42', 'MATCH'),
      event('VirtualSession', 'participant.joined', '42', 'match  '),
      // Not the tenant: a leading space is not ignored by the collation.
      event('VirtualSession', 'participant.joined', '42', ' match'),
    ];
    for (const row of rows) await c.query('INSERT INTO AuditLog SET ?', [row]);
    for (const tenantId of [TENANT, 'MATCH', 'match ', 'Other-Case', 'Padded  ', 'padded']) {
      await c.query('INSERT INTO VirtualSession SET ?', [
        { tenantId, patientRef: 'Patient/p-1', status: 'completed', createdAt: '2026-09-01 08:00:00', updatedAt: '2026-09-01 08:00:00' },
      ]);
    }
    await c.query('INSERT INTO TenantVirtualCareConfig SET ?', [
      {
        tenantId: 'OTHER-case',
        jitsiServerUrl: 'https://meet.test',
        jitsiAppId: 'app',
        credentials: 'x',
        branding: null,
        enabled: 1,
        updatedAt: '2026-09-01 08:00:00',
      },
    ]);
  } finally {
    await c.end();
  }
  await exportCsv(legacy.url, work);
  mysqlSource = createMysqlSource(legacy.url);
  csvSource = createCsvSource(work);
}, 180_000);

afterAll(async () => {
  await mysqlSource?.close();
  await Promise.all([legacy?.drop(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

const KINDS = ['mysql', 'csv'] as const;
const sourceOf = (kind: (typeof KINDS)[number]) => (kind === 'mysql' ? mysqlSource : csvSource);

async function rowsOf(source: LegacySource, table: LegacyTable, options: Omit<ReadOptions, 'batchSize'>) {
  const rows = [];
  for await (const batch of source.read(table, { ...options, batchSize: 7 })) rows.push(...batch.rows);
  return rows as unknown as LegacyAuditLog[];
}

const ids = (rows: readonly LegacyAuditLog[]) => rows.map((r) => Number(r.id)).sort((a, b) => a - b);
const accepted = (r: LegacyAuditLog) => parseParticipantEvent(r).kind !== 'ignored';
/** What the domain rule takes for participant history, and for the tenant, as the test sees it. */
const isHistory = (r: LegacyAuditLog) =>
  normalise(r.entityType) === 'virtualsession' && (PARTICIPANT_ACTIONS as readonly string[]).includes(normalise(r.action));

describe('participant history filters: what the domain rule accepts, from MariaDB and a CSV export alike', () => {
  it.each(KINDS)('%s: every row whose entityType/action trim and case-fold to the history is read, for the tenant', async (kind) => {
    const source = sourceOf(kind);
    const all = await rowsOf(source, 'AuditLog', { tenantId: TENANT });
    const wanted = ids(all.filter(isHistory));
    // 7 accepted entityTypes × 5 accepted actions, 12 rows by entityId, 2 of the tenant spelled otherwise.
    expect(wanted.length).toBe(7 * 5 + 12 + 2);
    const read = await rowsOf(source, 'AuditLog', { tenantId: TENANT, where: PARTICIPANT_HISTORY });
    expect(ids(read.filter(accepted))).toEqual(wanted);
    expect(await source.count('AuditLog', { tenantId: TENANT, where: PARTICIPANT_HISTORY })).toBe(read.length);
  });

  it('both sources hand the parser the same rows', async () => {
    const [my, csv] = await Promise.all(KINDS.map((k) => rowsOf(sourceOf(k), 'AuditLog', { tenantId: TENANT, where: PARTICIPANT_HISTORY })));
    expect(ids(my!.filter(accepted))).toEqual(ids(csv!.filter(accepted)));
  });

  it.each(KINDS)('%s: an entityId filter takes the ids that trim to it', async (kind) => {
    const source = sourceOf(kind);
    const read = await rowsOf(source, 'AuditLog', { tenantId: TENANT, where: [...PARTICIPANT_HISTORY, { column: 'entityId', in: ['42'] }] });
    const all = await rowsOf(source, 'AuditLog', { tenantId: TENANT });
    expect(ids(read.filter(accepted))).toEqual(ids(all.filter((r) => isHistory(r) && (r.entityId ?? '').trim() === '42')));
  });

  it.each(KINDS)('%s: an index-served (collated) read and the rows read apart split the history, none twice', async (kind) => {
    const source = sourceOf(kind);
    const main = await rowsOf(source, 'AuditLog', {
      tenantId: TENANT,
      where: [...PARTICIPANT_HISTORY_BY_ENTITY, { column: 'entityId', in: ['42', '43'], collated: true }],
      index: 'idx_AuditLog_tenantId_entity',
    });
    const apart = await rowsOf(source, 'AuditLog', {
      tenantId: TENANT,
      where: PARTICIPANT_HISTORY,
      apart: { notDigits: 'entityId', uncollated: ['entityType'] },
      index: 'idx_AuditLog_tenantId_entity',
    });
    // As validate's streamed pass takes them: digits-alone entityIds from the collated read, everything else apart.
    const keyed = main.filter((r) => /^[0-9]+$/.test(r.entityId ?? '')).filter(accepted);
    expect(ids(keyed).filter((id) => ids(apart).includes(id))).toEqual([]);
    const all = await rowsOf(source, 'AuditLog', { tenantId: TENANT });
    expect(ids([...keyed, ...apart.filter(accepted)])).toEqual(ids(all.filter(isHistory)));
    // An entityType that names VirtualSession only once its leading space is trimmed is read apart.
    expect(apart.filter((r) => r.entityType === ' VirtualSession').length).toBe(5);
  });
});

describe("tenants: as legacy's collation tells them apart, on both sources", () => {
  it.each(KINDS)('%s: a read for a tenant takes its rows spelled in another case or with trailing spaces, not a leading space', async (kind) => {
    const source = sourceOf(kind);
    const tenants = (await rowsOf(source, 'VirtualSession', { tenantId: TENANT })).map((r) => (r as unknown as { tenantId: string }).tenantId).sort();
    expect(tenants).toEqual(['MATCH', 'match', 'match ']);
    const events = (await rowsOf(source, 'AuditLog', { tenantId: TENANT })).map((r) => r.tenantId);
    expect(new Set(events)).toEqual(new Set([TENANT, 'MATCH', 'match  ']));
  });

  it.each(KINDS)('%s: lists one id per tenant, spelled as its first row (sessions) or its config spells it, trailing spaces cut', async (kind) => {
    const source = sourceOf(kind);
    const ours = (t: string) => ['match', 'other-case', 'padded'].includes(t.toLowerCase().trim());
    expect((await source.tenants('VirtualSession')).filter(ours)).toEqual(['Other-Case', 'Padded', TENANT]);
    expect((await legacyTenantList(source)).filter(ours)).toEqual(['OTHER-case', 'Padded', TENANT]);
  });

  it('both sources list the same tenants', async () => {
    expect(await legacyTenantList(mysqlSource)).toEqual(await legacyTenantList(csvSource));
  });
});
