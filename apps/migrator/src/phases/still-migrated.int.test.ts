import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyMoved, ownerOf, sessionStillMigrated, type OwnedRow } from './still-migrated';

/**
 * The rule of whose a session is, as PostgreSQL decides it (S1's and S4's upserts, validate's streamed pass) and as
 * the migrator decides it (S4's `changing`, validate's per-id pass): the two must agree on every kind of row, or a
 * sync would count a write the upsert refuses, or validate compare a row the sync left to the service.
 */
let target: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  target = await createTestDatabase();
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await target?.drop();
});

const LOADED = '2026-10-31T23:50:00.000Z';
const EARLIER = '2026-10-31T23:20:00.000Z';
const LATER = '2026-11-02T08:00:00.000Z';
const ROWS: Record<string, OwnedRow> = {
  'written by the migrator only': { version: 3, migrated_version: 3, updated_at: LOADED, legacy_updated_at: LOADED },
  'written by the service since (its clock behind)': { version: 4, migrated_version: 3, updated_at: EARLIER, legacy_updated_at: LOADED },
  'a shadow session the service changed, adopted': { version: 5, migrated_version: 0, updated_at: LATER, legacy_updated_at: LOADED },
  'unmarked, as loaded': { version: 2, migrated_version: null, updated_at: LOADED, legacy_updated_at: null },
  'unmarked, stamped after legacy': { version: 2, migrated_version: null, updated_at: LATER, legacy_updated_at: null },
};

describe('whose a session is, in SQL and in TypeScript', () => {
  for (const [name, row] of Object.entries(ROWS))
    for (const legacy of [LOADED, EARLIER, LATER])
      it(`${name}, legacy stamped ${legacy}`, async () => {
        const { rows } = await client.query<{ migrators: boolean; moved: boolean }>(
          `select ${sessionStillMigrated('t', '$5::timestamptz')} as migrators, ${legacyMoved('t', '$5::timestamptz')} as moved
             from (select $1::int as version, $2::int as migrated_version, $3::timestamptz as updated_at, $4::timestamptz as legacy_updated_at) t`,
          [row.version, row.migrated_version, row.updated_at, row.legacy_updated_at, legacy],
        );
        const { migrators, loadedAt } = ownerOf(row, Date.parse(legacy));
        expect(rows[0]!.migrators).toBe(migrators);
        // TypeScript leaves the loaded version unknown where it cannot say (a row the service owns, unmarked).
        if (loadedAt !== undefined) expect(rows[0]!.moved).toBe(loadedAt !== Date.parse(legacy));
        // The rows the fix is about: a version bump, not a clock, says the service wrote it.
        if (row.migrated_version !== null) expect(migrators).toBe(row.migrated_version === row.version);
      });
});
