import { openTestDatabase } from '@vc/schema/testing';
import { createDatabase, type DatabaseHandle } from '@vc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOf } from '../engine/tx';
import { runMigrator } from '../testing/run-cli';
import { verifyChain, verifyChainTo } from './chain';
import { configHash, ledgerValue } from './invocation';
import type { MigratorConfig } from '../config';
import { appendLedgerRow, readLedger } from './store';

/**
 * The ledger on real PostgreSQL: two runs appending at once still make one chain; the database refuses to
 * rewrite it; an edit or a delete made anyway (by the table's owner, the guard switched off) breaks the
 * chain by row, and one at its end breaks the tip recorded before.
 */
let db: DatabaseHandle & { url: string };
let second: DatabaseHandle;

beforeAll(async () => {
  db = await openTestDatabase();
  second = await createDatabase(db.url, { max: 5 });
});

afterAll(async () => {
  await second?.close();
  await db?.close();
});

const entry = (tenant: string, i: number) => ({ command: `phase s1 --tenant ${tenant}`, run: i, exitCode: 0 });

/** A rewrite as the table's owner can make one: the append-only guard switched off around it. */
async function asOwner(statement: string, params: unknown[] = [], on: DatabaseHandle = db): Promise<void> {
  await queryOf(on)('alter table vc_migration.ledger disable trigger user');
  try {
    await queryOf(on)(statement, params);
  } finally {
    await queryOf(on)('alter table vc_migration.ledger enable trigger user');
  }
}

describe('vc_migration.ledger', () => {
  it('chains the rows of two tenants appended concurrently from two connections pools, in seq order without gaps', async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => appendLedgerRow(i % 2 ? db : second, entry(i % 2 ? 'acme' : 'globex', i), [i % 2 ? 'acme' : 'globex'])),
    );
    const rows = await readLedger(db.db);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(verifyChain(rows)).toMatchObject({ status: 'intact', rows: 12 });
  });

  it('refuses to update, delete or truncate a row, whoever asks (the rows stay as they were)', async () => {
    const before = await readLedger(db.db);
    for (const statement of [
      `update vc_migration.ledger set entry = jsonb_set(entry, '{exitCode}', '1') where seq = 12`,
      'delete from vc_migration.ledger where seq >= 11',
      'truncate vc_migration.ledger',
    ]) {
      await expect(queryOf(db)(statement), statement).rejects.toThrow(/vc_migration\.ledger is append-only \((UPDATE|DELETE|TRUNCATE) refused\)/);
    }
    expect(await readLedger(db.db)).toEqual(before);
  });

  it('names the edited row when an entry is changed in place', async () => {
    await asOwner(`update vc_migration.ledger set entry = jsonb_set(entry, '{exitCode}', '1') where seq = 5`);
    expect(verifyChain(await readLedger(db.db))).toMatchObject({ status: 'broken', seq: 5, problem: 'edited' });
  });

  it('names the row after a deleted one, and a re-hashed edit by the next row it no longer links to', async () => {
    const rows = await readLedger(db.db);
    const row5 = rows[4]!;
    const { rowHash } = await import('./chain');
    // A forger who re-hashes the edited row still breaks the link from row 6.
    await asOwner('update vc_migration.ledger set hash = $1 where seq = 5', [rowHash(row5)]);
    expect(verifyChain(await readLedger(db.db))).toMatchObject({ status: 'broken', seq: 6, problem: 'relinked' });
    await asOwner('delete from vc_migration.ledger where seq = 8');
    const afterDelete = verifyChain(
      (await readLedger(db.db)).filter((r) => r.seq > 6),
      { seq: 6, hash: (await readLedger(db.db))[5]!.hash },
    );
    expect(afterDelete).toMatchObject({ status: 'broken', seq: 9, problem: 'missing_before' });
  });

  it('a tip recorded before catches the newest rows deleted, which the chain alone cannot', async () => {
    const rows = await readLedger(db.db);
    const tip = rows.at(-1)!.hash;
    // A chain broken before stays broken, whatever the tip.
    expect(verifyChainTo(rows, tip)).toMatchObject({ status: 'broken', seq: 6, problem: 'relinked' });
    const intact = rows.slice(0, 4);
    expect(verifyChainTo(intact, intact.at(-1)!.hash)).toMatchObject({ status: 'intact', rows: 4 });
    // Rows 3-4 deleted: what is left still links up, but no row has the tip any more.
    expect(verifyChain(intact.slice(0, 2))).toMatchObject({ status: 'intact' });
    expect(verifyChainTo(intact.slice(0, 2), intact.at(-1)!.hash)).toMatchObject({ status: 'broken', seq: 2, problem: 'tip_gone' });
    // The chain grown since the tip was recorded is still anchored by it.
    expect(verifyChainTo(intact, intact[1]!.hash)).toMatchObject({ status: 'intact', rows: 4 });
  });

  it('keeps flag values that pass the PHI guard, hashes the others and drops secret-looking ones', () => {
    expect(ledgerValue('tenant', 'acme')).toBe('acme');
    expect(ledgerValue('tenant', ['acme', 'Patient/123'])).toEqual(['acme', expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
    expect(ledgerValue('testPatient', 'Patient/123')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ledgerValue('why', 'asked by Maria Lopez')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ledgerValue('why', 's1 has not run')).toBe('s1 has not run');
    expect(ledgerValue('tokenSecretFile', '/run/secret')).toBe('[secret: not recorded]');
  });

  it('keeps a --reason as the sha256 and length of the text without surrounding blanks, never the text', () => {
    const kept = ledgerValue('reason', '  CHG-7 rehearsal of s2 alone ');
    expect(kept).toBe('sha256:0bd21832db8088d8afe8abbc01d6a9a33e560db2098d3a0d219ff51d0197da05 (27 chars)');
  });

  it('the config hash covers only whether secret settings are set, and no URL credentials', () => {
    const base = { VC_DATABASE_URL: 'postgres://db.internal:5432/vc', VC_LEGACY_DATABASE_URL: 'mysql://ro@legacy/dc?ssl=true' } as MigratorConfig;
    const hash = (over: Record<string, string>) => configHash({ ...base, ...over } as MigratorConfig);
    expect(hash({ VC_LEGACY_MASTER_KEY: 'one' })).toBe(hash({ VC_LEGACY_MASTER_KEY: 'two' }));
    expect(hash({ VC_LEGACY_MASTER_KEY: 'one' })).not.toBe(hash({}));
    expect(hash({ VC_LEGACY_DATABASE_URL: 'mysql://ro:p@ss/w@legacy/dc?sslpassword=x' })).toBe(
      hash({ VC_LEGACY_DATABASE_URL: 'mysql://ro:q@legacy/dc?sslpassword=y' }),
    );
    // What is no credential still counts: a port (read as such, not as a password) and a query parameter.
    expect(hash({ VC_DATABASE_URL: 'postgres://db.internal:5433/vc' })).not.toBe(hash({}));
    expect(hash({ VC_LEGACY_DATABASE_URL: 'mysql://ro@legacy/dc?ssl=false' })).not.toBe(hash({}));
    expect(hash({ AWS_WEB_IDENTITY_TOKEN_FILE: '/a' })).not.toBe(hash({ AWS_WEB_IDENTITY_TOKEN_FILE: '/b' }));
  });
});

describe('migrator ledger verify --expect-tip', () => {
  let own: DatabaseHandle & { url: string };
  beforeAll(async () => {
    own = await openTestDatabase();
  });
  afterAll(async () => own?.close());

  const verify = (...flags: string[]) => runMigrator(['ledger', 'verify', ...flags], { VC_DATABASE_URL: own.url });

  it('exit 3 when the tip recorded before is gone (the newest rows deleted), exit 0 while it is still a row', async () => {
    for (let i = 1; i <= 4; i++) await appendLedgerRow(own, entry('acme', i), ['acme']);
    const tip = (await readLedger(own.db)).at(-1)!.hash;
    expect((await verify('--expect-tip', tip)).code).toBe(0);
    await appendLedgerRow(own, entry('acme', 5), ['acme']);
    expect((await verify('--expect-tip', tip)).code).toBe(0);
    await asOwner('delete from vc_migration.ledger where seq >= 4', [], own);
    // What is left still links up: the chain alone cannot tell.
    expect((await verify()).code).toBe(0);
    const anchored = await verify('--expect-tip', tip);
    expect([anchored.code, anchored.stdout]).toEqual([3, expect.stringContaining(`ledger BROKEN at row 3: no ledger row has the expected tip ${tip}`)]);
  }, 60_000);

  it('a tip not of the form `ledger verify` prints is a usage error (exit 2)', async () => {
    const run = await verify('--expect-tip', 'abc');
    expect([run.code, run.stderr]).toEqual([2, expect.stringContaining('--expect-tip takes a tip as `ledger verify` prints it')]);
  }, 60_000);
});
