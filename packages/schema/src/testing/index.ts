import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, type DatabaseHandle } from '../client';
import { migrate, migrationsFolder } from '../migrate';

/**
 * Test support: every test file gets its own PostgreSQL database, copied from a migrated template
 * (graphile-worker's trick) so a file pays for migrations once per server, not once per test.
 */

/** The server the test script started (or the one the developer pointed us at). */
export function testPostgresUrl(): string {
  const url = process.env.VC_TEST_POSTGRES_URL;
  if (!url) throw new Error('VC_TEST_POSTGRES_URL is not set: run the suite with `pnpm test`, which starts PostgreSQL 15');
  return url;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const TEMPLATE_LOCK = 7_261_900_002;

function templateName(): string {
  // Named after the migrations' content, so a changed or added migration gets a fresh template.
  const hash = createHash('sha256');
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
  for (const entry of journal.entries) hash.update(readFileSync(join(migrationsFolder, `${entry.tag}.sql`)));
  return `vc_template_${hash.digest('hex').slice(0, 12)}`;
}

async function ensureTemplate(admin: pg.Client, serverUrl: string, name: string): Promise<void> {
  await admin.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount !== 0) return;
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
    const handle = await createDatabase(withDatabase(serverUrl, name), { max: 1 });
    try {
      await migrate(handle);
    } finally {
      await handle.close();
    }
  } finally {
    await admin.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database (terminating stray connections first). */
  drop(): Promise<void>;
}

/**
 * A fresh database on the test server. `migrated: true` (default) copies the migrated template;
 * `migrated: false` gives an empty one, for tests of migrations themselves.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = testPostgresUrl();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const name = `vc_test_${randomBytes(6).toString('hex')}`;
  try {
    if (options.migrated === false) {
      await admin.query(`create database ${pg.escapeIdentifier(name)}`);
    } else {
      const template = templateName();
      await ensureTemplate(admin, serverUrl, template);
      await admin.query(`create database ${pg.escapeIdentifier(name)} template ${pg.escapeIdentifier(template)}`);
    }
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(serverUrl, name),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A migrated test database and an open handle on it; `close()` closes and drops. */
export async function openTestDatabase(): Promise<DatabaseHandle & { url: string }> {
  const created = await createTestDatabase();
  const handle = await createDatabase(created.url, { max: 5 });
  return {
    ...handle,
    url: created.url,
    async close() {
      await handle.close();
      await created.drop();
    },
  };
}
