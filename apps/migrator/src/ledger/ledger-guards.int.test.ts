import { openTestDatabase } from '@vc/schema/testing';
import type { DatabaseHandle } from '@vc/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOf } from '../engine/tx';
import { runMigrator } from '../testing/run-cli';
import { configHash, ledgerValue } from './invocation';
import { rowHash } from './chain';
import { appendLedgerRow, readLedger } from './store';
import { guardEvidenceFile } from '../evidence/pack';
import type { MigratorConfig } from '../config';

/**
 * Review: `ledger verify` and what the ledger keeps. `migrator ledger --help` says "an edited, inserted or
 * deleted row breaks the chain"; the end of the chain is not anchored anywhere, so the newest rows can be
 * deleted (or edited and re-hashed) and verify still says intact.
 */
let db: DatabaseHandle & { url: string };

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => db?.close());

const verify = () => runMigrator(['ledger', 'verify', '--json'], { VC_DATABASE_URL: db.url });

/** A tamper that either the database refuses outright (a guard on the table) or `ledger verify` names (exit 3). */
async function expectCaught(tamper: () => Promise<unknown>): Promise<void> {
  let refused = false;
  try {
    await tamper();
  } catch {
    refused = true;
  }
  if (refused) return;
  const run = await verify();
  expect(run.code, `ledger verify after the tamper: ${run.stdout}${run.stderr}`).toBe(3);
}

describe('review: ledger verify and the tip of the chain', { timeout: 60_000 }, () => {
  it('deleting the newest run (its start and end rows) is caught', async () => {
    for (let i = 0; i < 4; i++)
      await appendLedgerRow(db, { event: i % 2 ? 'end' : 'start', command: 'phase s1', run: i, ...(i % 2 ? { startSeq: i, exitCode: 0 } : {}) }, ['acme']);
    const before = await verify();
    expect(before.code, before.stdout + before.stderr).toBe(0);
    // The run of rows 3-4 (say, an s4 decommission forced past its gates) is made to never have happened.
    await expectCaught(() => queryOf(db)('delete from vc_migration.ledger where seq >= 3'));
  });

  it('editing the newest row and recomputing its hash is caught', async () => {
    const rows = await readLedger(db.db);
    const last = rows.at(-1)!;
    const forged = { ...last, entry: { ...last.entry, exitCode: 0, command: 'phase s1 --dry-run' } };
    await expectCaught(() =>
      queryOf(db)('update vc_migration.ledger set entry = $1::jsonb, hash = $2 where seq = $3', [JSON.stringify(forged.entry), rowHash(forged), last.seq]),
    );
  });
});

describe('review: what the ledger (and through ledger.json the evidence pack) keeps of free text', () => {
  const reason = 'patient Maria Lopez called +1 555-123-4567 to withdraw consent';

  it('a --reason naming a person and a phone number is not kept verbatim', () => {
    const kept = String(ledgerValue('reason', reason));
    expect(kept).not.toContain('Maria Lopez');
    expect(kept).not.toContain('555-123-4567');
  });

  it('the evidence guard refuses a ledger.json carrying that reason', () => {
    const text = `${JSON.stringify({ tenant: 'acme', rows: [{ seq: 1, entry: { flags: { reason } } }] }, null, 2)}\n`;
    expect(() => guardEvidenceFile('ledger.json', text)).toThrow(/evidence refused/);
  });
});

describe('review: configHash leaves secret values out, as it says', () => {
  const base = { VC_DATABASE_URL: 'postgres://vc@db.internal/vc', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' } as unknown as MigratorConfig;

  it.each([
    ['AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'rotated/K7MDENG/bPxRfiCYEXAMPLEKEY0000'],
    ['AWS_SESSION_TOKEN', 'FwoGZXIvYXdzEJr-session-token-one', 'FwoGZXIvYXdzEJr-session-token-two'],
  ])('%s: the hash does not change with its value', (name, one, two) => {
    expect(configHash({ ...base, [name]: one } as MigratorConfig)).toBe(configHash({ ...base, [name]: two } as MigratorConfig));
  });

  it('a database password holding a "/" is left out of the hash too', () => {
    const url = (password: string) => ({ ...base, VC_DATABASE_URL: `postgres://vc:${password}@db.internal/vc` }) as MigratorConfig;
    expect(configHash(url('s3cr/et-one'))).toBe(configHash(url('s3cr/et-two')));
  });
});
