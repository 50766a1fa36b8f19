import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, queryRows, type DatabaseHandle } from './client';
import { migrate, migrationsFolder } from './migrate';
import { createTestDatabase, type TestDatabase } from './testing/index';

/**
 * Migration 0018 on real PostgreSQL: a database at 0017 holding outbox rows as the release before the last
 * wrote them (a cancelled session's events with `data.cancelReason`), then upgraded.
 */
const MIGRATION = '0018_outbox_strip_cancel_reason';
const REASON = 'Pt admitted to ER with chest pain, DOB 1961-02-03';

let database: TestDatabase;
let handle: DatabaseHandle;
let before: string;
/** How many committed migrations `migrate` applies on top of `before`: this one and any added after it. */
let upgrades: number;

/** The committed migrations up to (not including) `tag`, in a folder of their own, and how many follow. */
async function migrationsBefore(tag: string): Promise<{ dir: string; later: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-migrations-'));
  await cp(migrationsFolder, dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
  const at = journal.entries.findIndex((entry) => entry.tag === tag);
  expect(at, `${tag} is in the journal`).toBeGreaterThan(0);
  await writeFile(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return { dir, later: journal.entries.length - at };
}

const event = (data: Record<string, unknown>) => ({
  specversion: '1.0',
  id: crypto.randomUUID(),
  source: '/virtual-care-service',
  type: 'virtual_care.session.cancelled',
  subject: crypto.randomUUID(),
  time: '2026-03-01T09:00:00.000Z',
  datacontenttype: 'application/json',
  tenantid: 'acme',
  data,
});

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  handle = await createDatabase(database.url, { max: 2 });
  ({ dir: before, later: upgrades } = await migrationsBefore(MIGRATION));
  await drizzleMigrate(drizzle(handle.pool!), { migrationsFolder: before });
});
afterAll(async () => {
  await handle?.close();
  await database?.drop();
  if (before) await rm(before, { recursive: true, force: true });
});

describe(`migration ${MIGRATION}`, () => {
  it('strips data.cancelReason from unpublished events only, leaving the rest of every row as it was', async () => {
    const old = { sessionId: 's-1', status: 'cancelled', cancelReason: REASON, version: 2 };
    const rows = {
      pending: event(old),
      retrying: event(old),
      published: event(old),
      without: event({ sessionId: 's-2', status: 'cancelled', version: 2 }),
      // Not an event: its payload is the Encounter the relay sends to FHIR, never to the stream.
      encounter: { encounter: { resourceType: 'Encounter', data: { cancelReason: REASON } } },
    };
    const insert = (name: keyof typeof rows, kind: string, extra: { published?: boolean; attempts?: number } = {}) =>
      handle.db.execute(sql`
        insert into outbox (tenant_id, kind, subject, payload, published_at, attempts, last_error)
        values ('acme', ${kind}::outbox_kind, ${name}, ${JSON.stringify(rows[name])}::jsonb,
                ${extra.published ? sql`now()` : sql`null`}, ${extra.attempts ?? 0}, ${extra.attempts ? 'Error: refused' : null})`);
    await insert('pending', 'event');
    await insert('retrying', 'event', { attempts: 3 });
    await insert('published', 'event', { published: true });
    await insert('without', 'event');
    await insert('encounter', 'fhir_encounter');

    expect(await migrate(handle)).toMatchObject({ applied: upgrades });

    const after = Object.fromEntries(
      (await queryRows<{ subject: string; payload: unknown; attempts: number }>(handle.db, sql`select subject, payload, attempts from outbox`)).map((r) => [
        r.subject,
        r,
      ]),
    );
    const { cancelReason: _r, ...stripped } = old;
    expect(after.pending!.payload).toEqual({ ...rows.pending, data: stripped });
    expect(after.retrying).toEqual({ subject: 'retrying', payload: { ...rows.retrying, data: stripped }, attempts: 3 });
    expect(after.published!.payload).toEqual(rows.published);
    expect(after.without!.payload).toEqual(rows.without);
    expect(after.encounter!.payload).toEqual(rows.encounter);
  });
});
