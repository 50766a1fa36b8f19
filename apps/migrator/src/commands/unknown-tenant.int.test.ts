import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { embeddedFixture } from '../testing/embedded-fixture';
import { pgliteAfterS0 } from '../testing/pglite-after-s0';
import { runMigrator, runMigratorJson } from '../testing/run-cli';

/**
 * A `--tenant` legacy does not have is a typo: every command refuses it with exit 2 and the one message
 * (`unknown tenant "acmee": the legacy source (…) has acme, …`) before it records anything for it.
 */
const fixture = embeddedFixture('vc-unknown-tenant-');
const { dir, target } = fixture;
const env = { ...fixture.env, VC_KONG_FILE: `${dir}/kong.yaml` };
const UNKNOWN = /unknown tenant "acmee": the legacy source \(.+\) has acme, /;

type Ledger = { rows: Array<{ entry: { command: string; tenants?: string[] } }> };
const ledgerCommands = async () => (await runMigratorJson<Ledger>(['ledger', 'show'], env)).json.rows.map((r) => r.entry.command);

beforeAll(async () => {
  await pgliteAfterS0(`${dir}/pg`);
  const s1 = await runMigrator(['phase', 's1', '--tenant', 'acme', '--max-reject-rate', '0.2'], env);
  expect(s1.code, s1.stderr).toBe(0);
}, 180_000);

describe('a --tenant legacy does not have', () => {
  it('validate refuses it with exit 2 before recording a verdict or writing a report', async () => {
    const before = await ledgerCommands();
    const result = await runMigrator(['validate', '--tenant', 'acmee', '--out', join(dir, 'reports')], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(UNKNOWN);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Nothing recorded: a validate that records a verdict leaves its ledger row.
    expect(await ledgerCommands()).toEqual(before);
  }, 60_000);

  it('evidence refuses it with the same message (exit 2)', async () => {
    const result = await runMigrator(['evidence', '--tenant', 'acmee', '--out', join(dir, 'ev-acmee')], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(UNKNOWN);
  }, 60_000);

  it('status says the tenant is unknown (exit 2), not "no migration state yet (run migrator phase s0…)"', async () => {
    const result = await runMigrator(['status', '--tenant', 'acmee'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(UNKNOWN);
    expect(result.stdout).not.toContain('phase s0');
  }, 60_000);

  it('status without a legacy source says only that the tenant has no state, without advice that does not apply', async () => {
    const result = await runMigrator(['status', '--tenant', 'acmee'], target);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('no migration state for tenant acmee');
    const known = await runMigrator(['status', '--tenant', 'acme'], target);
    expect(known.stdout).toContain('acme: ready for s2');
  }, 60_000);
});

describe('rejects --reason', () => {
  it('refuses a reason code that does not exist with exit 2 naming the known codes', async () => {
    const result = await runMigrator(['rejects', '--tenant', 'acme', '--reason', 'nope', '--json'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--reason expects one of invalid_datetime, missing_patient,');
    expect(result.stderr).toContain('got "nope"');
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'error', exitCode: 2 });
  }, 60_000);

  it('still lists the rejects of a known code', async () => {
    const result = await runMigratorJson<{ rejects: Array<{ reason: string }> }>(['rejects', '--tenant', 'acme', '--reason', 'missing_patient'], env);
    expect(result.code).toBe(0);
    expect(result.json.rejects.every((r) => r.reason === 'missing_patient')).toBe(true);
  }, 60_000);
});

describe('rollback s4 --tenant', () => {
  it('refuses a tenant legacy does not have with exit 2, not "nothing_to_roll_back" exit 0', async () => {
    const result = await runMigrator(['rollback', 's4', '--tenant', 'acmee'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(UNKNOWN);
    expect(result.stdout).not.toContain('nothing_to_roll_back');
    // The ledger records the refusal as one (exit 2), as for any refused writing command, not a rollback that ran.
    const rows = (await runMigratorJson<Ledger>(['ledger', 'show'], env)).json.rows.map((r) => r.entry as { command: string; exitCode?: number });
    expect(rows.at(-1)).toMatchObject({ command: 'rollback s4', exitCode: 2 });
  }, 60_000);

  it('checks against the target when the configured legacy source cannot be read: a rollback does not need legacy', async () => {
    // Nothing listens on port 9: legacy is unreachable, as it may be during the incident a rollback answers.
    const unreachable = { ...env, VC_LEGACY_EXPORT_DIR: '', VC_LEGACY_DATABASE_URL: 'mysql://root@127.0.0.1:9/dc' };
    const known = await runMigrator(['rollback', 's4', '--tenant', 'acme'], unreachable);
    expect(known.code, known.stderr).toBe(0);
    expect(known.stdout).toContain('rollback s4 acme: nothing_to_roll_back');
    const typo = await runMigrator(['rollback', 's4', '--tenant', 'acmee'], unreachable);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown tenant "acmee": the target \(the legacy source could not be read, so its migration state\) has acme/);
  }, 60_000);

  it('still says nothing_to_roll_back (exit 0) for a known tenant that was never cut over', async () => {
    const result = await runMigrator(['rollback', 's4', '--tenant', 'acme'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('rollback s4 acme: nothing_to_roll_back');
  }, 60_000);
});
