import { openTestDatabase } from '@vc/schema/testing';
import { createDatabase, type DatabaseHandle } from '@vc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOf } from '../engine/tx';
import { verifyChain } from './chain';
import { ledgerValue } from './invocation';
import { appendLedgerRow, readLedger } from './store';

/** The ledger on real PostgreSQL: two runs appending at once still make one chain; an edit or a delete breaks it by row. */
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

describe('vc_migration.ledger', () => {
  it('chains the rows of two tenants appended concurrently from two connections pools, in seq order without gaps', async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => appendLedgerRow(i % 2 ? db : second, entry(i % 2 ? 'acme' : 'globex', i), [i % 2 ? 'acme' : 'globex'])),
    );
    const rows = await readLedger(db.db);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(verifyChain(rows)).toMatchObject({ status: 'intact', rows: 12 });
  });

  it('names the edited row when an entry is changed in place', async () => {
    await queryOf(db)(`update vc_migration.ledger set entry = jsonb_set(entry, '{exitCode}', '1') where seq = 5`);
    expect(verifyChain(await readLedger(db.db))).toMatchObject({ status: 'broken', seq: 5, problem: 'edited' });
  });

  it('names the row after a deleted one, and a re-hashed edit by the next row it no longer links to', async () => {
    const rows = await readLedger(db.db);
    const row5 = rows[4]!;
    const { rowHash } = await import('./chain');
    // A forger who re-hashes the edited row still breaks the link from row 6.
    await queryOf(db)('update vc_migration.ledger set hash = $1 where seq = 5', [rowHash(row5)]);
    expect(verifyChain(await readLedger(db.db))).toMatchObject({ status: 'broken', seq: 6, problem: 'relinked' });
    await queryOf(db)('delete from vc_migration.ledger where seq = 8');
    const afterDelete = verifyChain(
      (await readLedger(db.db)).filter((r) => r.seq > 6),
      { seq: 6, hash: (await readLedger(db.db))[5]!.hash },
    );
    expect(afterDelete).toMatchObject({ status: 'broken', seq: 9, problem: 'missing_before' });
  });

  it('keeps flag values that pass the PHI guard, hashes the others and drops secret-looking ones', () => {
    expect(ledgerValue('tenant', 'acme')).toBe('acme');
    expect(ledgerValue('testPatient', 'Patient/123')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ledgerValue('tokenSecretFile', '/run/secret')).toBe('[secret: not recorded]');
  });
});
