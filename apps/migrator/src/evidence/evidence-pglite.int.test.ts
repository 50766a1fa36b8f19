import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDatabase } from '@vc/schema';
import { extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_AS_OF as AS_OF,
  embeddedAfterS1,
  filesUnder,
  keyringSecrets,
  phiHits,
  producedOutput,
  runMigrator,
  sensitiveValues,
  type EmbeddedTenant,
} from '../validate/testing/harness';

/**
 * The auditor's evidence on the embedded default (PGlite, the checked-in CSV export, the local keyring):
 * the run ledger of real CLI runs, fingerprints that agree after a healthy S1 and name one altered row,
 * a signed pack whose verify names a changed file, a ledger the database will not let be rewritten, and a
 * ledger verify that names a row edited anyway. Every
 * file the tests produce is grepped for the fixture's patient refs, names and secrets.
 */
let demo: EmbeddedTenant;
let work: string;
let env: Record<string, string>;
let pgDir: string;

type Sql = (statement: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/**
 * Statements on the PGlite target in this process, over one boot of it (each boot costs seconds of CPU). Closed
 * before any migrator runs: PGlite admits one process per directory.
 */
async function withSql<T>(use: (sql: Sql) => Promise<T>): Promise<T> {
  const handle = await createDatabase(`pglite:${pgDir}`);
  try {
    return await use(async (statement, params = []) => (await handle.pglite!.query<Record<string, unknown>>(statement, params)).rows);
  } finally {
    await handle.close();
  }
}

const sql: Sql = (statement, params) => withSql((run) => run(statement, params));

beforeAll(async () => {
  demo = await embeddedAfterS1('vc-evidence-', { VC_OPERATOR: 'auditor-test' });
  ({ work, env, pgDir } = demo);
}, 300_000);

afterAll(async () => {
  await demo?.close();
});

describe('the run ledger, fingerprints and the evidence pack (PGlite + CSV)', { timeout: 240_000 }, () => {
  it('records who ran which writing command with which flags and counts, and verifies the chain', async () => {
    const shown = await runMigrator(['ledger', 'show', '--tenant', 'acme', '--json'], env);
    const rows = (JSON.parse(shown.stdout) as { rows: Array<{ seq: number; entry: Record<string, unknown> }> }).rows;
    // s0 prepared the database for every tenant, so its row belongs to acme's history too. It made the
    // ledger table itself, so it has an end row only; s1 a start row and the end row naming it.
    expect(rows.map((r) => [r.entry.event, r.entry.command])).toEqual([
      ['end', 'phase s0'],
      ['start', 'phase s1'],
      ['end', 'phase s1'],
    ]);
    expect(rows[2]!.entry).toMatchObject({ startSeq: rows[1]!.seq });
    const s1 = rows[2]!.entry;
    expect(s1).toMatchObject({ operator: 'auditor-test', exitCode: 0, flags: { tenant: 'acme', asOf: AS_OF, maxRejectRate: '0.5' } });
    expect(s1.configHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((s1.counts as Array<{ step: string }>).map((c) => c.step)).toContain('1.1');
    const verify = await runMigrator(['ledger', 'verify', '--json'], env);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ status: 'intact', rows: 3, unfinished: [] });
  });

  it('writes a signed pack whose manifest covers every file, and evidence verify names a file changed afterwards', async () => {
    // A cutover as S4 records it, the snapshot holding a plugin credential as real routings do.
    const routing = {
      _format_version: '3.0',
      services: [
        {
          name: 'digital-communication',
          url: 'http://digital-communication.internal:8080',
          plugins: [{ name: 'rate-limiting', config: { minute: 600, policy: 'redis', redis_password: 'hunter2-Redis!' } }],
          routes: [{ name: 'dc-virtual-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: true }],
        },
      ],
    };
    await sql(
      `insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing, actor) values ('acme', 'cutover', $1, $1, 'auditor-test')`,
      [JSON.stringify(routing)],
    );
    const out = join(work, 'evidence', 'acme');
    const run = await runMigrator(['evidence', '--tenant', 'acme', '--out', out, '--sign', '--as-of', AS_OF, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'written', archive: `${out}.tar.gz`, signed: true, signedBy: expect.stringMatching(/^local-/) });
    const kongBefore = await readFile(join(out, 'kong-before.json'), 'utf8');
    expect(kongBefore).not.toContain('hunter2');
    expect(JSON.parse(kongBefore)).toMatchObject({
      routing: { services: [{ plugins: [{ name: 'rate-limiting', config: { minute: 600, policy: 'redis', redis_password: '[redacted]' } }] }] },
    });
    await sql(`delete from vc_migration.cutovers where tenant_id = 'acme'`);
    const manifest = JSON.parse(await readFile(join(out, 'MANIFEST.json'), 'utf8')) as { files: Array<{ path: string }> };
    expect(manifest.files.map((f) => f.path)).toEqual([
      'fingerprints.json',
      'kms-keys.json',
      'kong-after.json',
      'kong-before.json',
      'ledger.json',
      'rejects.json',
      'report.html',
      'validation.json',
      'validation.junit.xml',
      'validation.md',
      'warnings.json',
    ]);
    const fingerprints = JSON.parse(await readFile(join(out, 'fingerprints.json'), 'utf8')) as {
      tables: Array<{ table: string; equal: boolean; legacy: { rows: number } }>;
    };
    expect(fingerprints.tables.map((t) => [t.table, t.equal, t.legacy.rows > 0])).toEqual([
      ['sessions', true, true],
      ['configs', true, true],
      ['participants', true, true],
    ]);
    const keys = JSON.parse(await readFile(join(out, 'kms-keys.json'), 'utf8')) as { configs: Array<{ kmsKeyId: string; keyVersion: string }> };
    expect(keys.configs[0]!.kmsKeyId).toMatch(/^local-/);
    expect((await runMigrator(['evidence', 'verify', out], env)).code).toBe(0);
    const archived = await runMigrator(['evidence', 'verify', `${out}.tar.gz`, '--require-signature'], env);
    expect(archived.code, archived.stderr).toBe(0);
    expect(archived.stdout).toMatch(/^evidence intact \(archive .*acme\.tar\.gz\): 11 files, signature valid \(key local-/);

    const unpacked = join(work, 'unpacked');
    await mkdir(unpacked);
    await extract({ file: `${out}.tar.gz`, cwd: unpacked });
    expect((await runMigrator(['evidence', 'verify', join(unpacked, 'acme')], env)).code).toBe(0);

    const rejects = join(unpacked, 'acme', 'rejects.json');
    await writeFile(rejects, (await readFile(rejects, 'utf8')).replace('"count": 1', '"count": 0'));
    const tampered = await runMigrator(['evidence', 'verify', join(unpacked, 'acme'), '--json'], env);
    expect(tampered.code).toBe(3);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ status: 'tampered', file: 'rejects.json', problem: 'changed' });
  });

  it('fingerprints pinpoint a single altered target session, and a single altered participant, by legacy id', async () => {
    const { row, joined } = await withSql(async (sql) => {
      const [row] = await sql(`select legacy_id from virtual_sessions where tenant_id = 'acme' and legacy_id is not null order by legacy_id offset 17 limit 1`);
      await sql(`update virtual_sessions set practitioner_ref = coalesce(practitioner_ref, 'none') || '-altered' where tenant_id = 'acme' and legacy_id = $1`, [
        row!.legacy_id,
      ]);
      // Another session's participant: one join more than its audit history holds.
      const [joined] = await sql(
        `select s.legacy_id, p.participant_ref from session_participants p join virtual_sessions s on s.id = p.session_id
          where p.tenant_id = 'acme' and s.legacy_id <> $1 order by s.legacy_id, p.participant_ref offset 3 limit 1`,
        [row!.legacy_id],
      );
      await sql(
        `update session_participants p set join_count = join_count + 1 from virtual_sessions s where s.id = p.session_id and s.legacy_id = $1 and p.participant_ref = $2`,
        [joined!.legacy_id, joined!.participant_ref],
      );
      return { row, joined };
    });
    const run = await runMigrator(['validate', '--tenant', 'acme', '--as-of', AS_OF, '--out', join(work, 'reports'), '--json'], env);
    const checks = (JSON.parse(run.stdout) as { checks: Array<{ id: string; status: string; samples: string[] }> }).checks;
    expect(checks.find((c) => c.id === 'fingerprints.sessions')).toMatchObject({ status: 'fail', samples: [`VirtualSession:${String(row!.legacy_id)}`] });
    expect(checks.find((c) => c.id === 'fingerprints.participants')).toMatchObject({
      status: 'fail',
      samples: [`VirtualSession:${String(joined!.legacy_id)}`],
    });
    expect(checks.find((c) => c.id === 'fingerprints.configs')).toMatchObject({ status: 'pass' });
  });

  it('the embedded database refuses to rewrite the ledger; ledger verify names a row edited anyway (exit 3)', async () => {
    const edit = `update vc_migration.ledger set entry = jsonb_set(entry, '{exitCode}', '1') where seq = 3`;
    await withSql(async (sql) => {
      await expect(sql(edit)).rejects.toThrow(/vc_migration\.ledger is append-only \(UPDATE refused\)/);
      await expect(sql('delete from vc_migration.ledger where seq = 3')).rejects.toThrow(/append-only \(DELETE refused\)/);
      // The database's owner can switch the guard off: the chain still names the row.
      await sql(`alter table vc_migration.ledger disable trigger user`);
      await sql(edit);
      await sql(`alter table vc_migration.ledger enable trigger user`);
    });
    const run = await runMigrator(['ledger', 'verify'], env);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('ledger BROKEN at row 3');
  });

  it('no file or output the tests produced carries a patient ref, a name or a secret of the fixture', async () => {
    const texts = [
      ...(await filesUnder(join(work, 'evidence'))),
      ...(await filesUnder(join(work, 'unpacked'))),
      ...(await filesUnder(join(work, 'reports'))),
      ...producedOutput().map((text, i) => ({ path: `run#${i}`, text })),
    ];
    expect(texts.length).toBeGreaterThan(20);
    expect(phiHits(texts, [...sensitiveValues(), ...(await keyringSecrets(join(work, 'kms.json')))])).toEqual([]);
  });
});
