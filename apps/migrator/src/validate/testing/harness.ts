import { spawn } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLegacyData, loadIntoMysql } from '@vc/fixtures';
import { startAccessPolicyStandIn } from '@vc/integrations/access-policy';
import mysql from 'mysql2/promise';
import { pgliteAfterS0 } from '../../testing/pglite-after-s0';
import { migratorArgv } from '../../testing/run-cli';

/**
 * Test support for the phase integration tests: runs the real CLI in a child process (exit codes, stdout
 * and stderr exactly as an operator sees them), loads the fixtures generator's legacy data into a fresh
 * pair of MariaDB databases, and scans everything the tests produced for PHI and secrets.
 */
const MIGRATOR_DIR = fileURLToPath(new URL('../../..', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const produced: string[] = [];

/** Every stdout and stderr the CLI runs of this test file produced (for the PHI scan). */
export function producedOutput(): readonly string[] {
  return produced;
}

/** Runs `migrator <args>` with only the given `VC_*` environment (none inherited). */
export async function runMigrator(args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VC_')));
  const child = spawn(process.execPath, migratorArgv(args), {
    cwd: MIGRATOR_DIR,
    env: { ...base, VC_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  produced.push(stdout, stderr);
  return { code, stdout, stderr };
}

/** The checked-in export's generator settings: 4 tenants (globex broken on purpose), 400 sessions. */
export const FIXTURE = { tenants: 4, sessions: 400, auditPerSession: 4, seed: 20261101, asOf: new Date('2026-11-01T00:00:00.000Z') } as const;

export interface LegacyDatabases {
  legacyUrl: string;
  portalUrl: string;
  expected: Awaited<ReturnType<typeof loadIntoMysql>>['expected'];
  /** Patient, practitioner and actor refs, display names, Jitsi app secrets and the master key: never in output. */
  sensitive: string[];
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.VC_TEST_MYSQL_URL;
  if (!url) throw new Error('VC_TEST_MYSQL_URL is not set: run through `pnpm test`');
  return url;
}

function withPath(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Columns whose values must never reach output: patient and actor refs, names, practitioner refs. */
const SENSITIVE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  VirtualSession: ['patientRef', 'practitionerRef'],
  AuditLog: ['actorRef', 'actorDisplay'],
  telehealth_consent: ['patient_ref', 'recorded_by'],
};

/** The Jitsi app secret inside a legacy credential blob (docs/design.md §4), or undefined for the corrupt one. */
function legacyAppSecret(blob: string, masterKey: string, tenantId: string): string | undefined {
  try {
    const raw = Buffer.from(blob, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(masterKey, 'base64'), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(tenantId, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    return (JSON.parse(plain) as { appSecret?: string }).appSecret;
  } catch {
    return undefined;
  }
}

export function sensitiveValues(): string[] {
  const data = generateLegacyData({ ...FIXTURE, target: 'mysql' });
  const values = new Set<string>([data.legacyMasterKey]);
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.trim().length >= 6) values.add(value.trim());
  };
  for (const table of data.tables) {
    const { name, columns } = table.spec;
    if (name === 'TenantVirtualCareConfig') {
      for (const row of table.rows())
        add(legacyAppSecret(String(row[columns.indexOf('credentials')]), data.legacyMasterKey, String(row[columns.indexOf('tenantId')])));
      continue;
    }
    const names = SENSITIVE_COLUMNS[name as string] ?? [];
    for (const row of table.rows()) for (const column of names) add(row[columns.indexOf(column)]);
  }
  return [...values];
}

/** The key material of a local KMS keyring file (`VC_KMS=local:<path>`): never to appear anywhere else. */
export async function keyringSecrets(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  return (JSON.parse(text) as { keys?: Array<{ key?: string }> }).keys?.flatMap((k) => (k.key ? [k.key] : [])) ?? [];
}

/** Loads the fixture data set into two fresh MariaDB databases named after `tag`. */
export async function loadLegacyDatabases(tag: string): Promise<LegacyDatabases> {
  const suffix = randomBytes(4).toString('hex');
  const names = { digitalCommunication: `vc_${tag}_dc_${suffix}`, patientPortal: `vc_${tag}_pp_${suffix}` };
  const server = serverUrl();
  const loaded = await loadIntoMysql(server, { ...FIXTURE, databases: names });
  return {
    legacyUrl: withPath(server, names.digitalCommunication),
    portalUrl: withPath(server, names.patientPortal),
    expected: loaded.expected,
    sensitive: sensitiveValues(),
    async drop() {
      const connection = await mysql.createConnection({ uri: server });
      try {
        for (const name of Object.values(names)) await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(name)}`);
      } finally {
        await connection.end();
      }
    },
  };
}

/** Runs a statement on a legacy database (to read or change legacy between phases). */
export async function legacyQuery<T>(url: string, statement: string, params: unknown[] = []): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: url, dateStrings: true });
  try {
    const [rows] = await connection.query(statement, params);
    return rows as T[];
  } finally {
    await connection.end();
  }
}

/** Every file under `dir` (reports), as text. */
export async function filesUnder(dir: string): Promise<Array<{ path: string; text: string }>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return Promise.all(files.map(async (path) => ({ path, text: await readFile(path, 'utf8') })));
}

/** Which sensitive values occur in which texts; empty means clean. Names the value's index, never the value. */
export function phiHits(texts: ReadonlyArray<{ path: string; text: string }>, sensitive: readonly string[]): string[] {
  const hits: string[] = [];
  for (const { path, text } of texts) {
    sensitive.forEach((value, i) => {
      if (text.includes(value)) hits.push(`${path}: sensitive value #${i}`);
    });
  }
  return hits;
}

/** The checked-in CSV export (the embedded default's legacy, `pnpm demo`) and the as-of its expected counts are for. */
export const DEMO_CSV_DIR = fileURLToPath(new URL('../../../../../fixtures/legacy/csv', import.meta.url));
export const DEMO_AS_OF = '2026-11-01T00:00:00.000Z';

/** What the checked-in export's `expected.json` says of tenant acme's sessions (and the legacy master key). */
export interface DemoExpected {
  legacyMasterKey: string;
  tenants: { acme: { sessions: { legacy: number; loaded: number; deferred: number; rejected: Record<string, number> } } };
}

export interface EmbeddedTenant {
  /** The work directory (removed by `close`): the PGlite data, the keyring, whatever the test writes. */
  work: string;
  /** The PGlite data directory (`VC_DATABASE_URL=pglite:<pgDir>`). */
  pgDir: string;
  env: Record<string, string>;
  expected: DemoExpected;
  close(): Promise<void>;
}

/**
 * The embedded default after a first S1 of tenant acme, as `pnpm demo` leaves it: PGlite as the target in
 * a fresh work directory (its S0 copied from the test run's template), the checked-in CSV export as legacy, the local keyring, an access-policy stand-in.
 * `extraEnv` is added to every run's environment (`VC_OPERATOR`, …).
 */
export async function embeddedAfterS1(prefix: string, extraEnv: Readonly<Record<string, string>> = {}): Promise<EmbeddedTenant> {
  const [work, accessPolicy] = await Promise.all([mkdtemp(join(tmpdir(), prefix)), startAccessPolicyStandIn()]);
  const close = async () => {
    await accessPolicy.close();
    await rm(work, { recursive: true, force: true });
  };
  try {
    const expected = JSON.parse(await readFile(join(DEMO_CSV_DIR, 'expected.json'), 'utf8')) as DemoExpected;
    const pgDir = join(work, 'pg');
    const env = {
      VC_DATABASE_URL: `pglite:${pgDir}`,
      VC_LEGACY_EXPORT_DIR: DEMO_CSV_DIR,
      VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
      VC_KMS: `local:${join(work, 'kms.json')}`,
      VC_ACCESS_POLICY_URL: accessPolicy.url,
      ...extraEnv,
    };
    // S0's result is the same for every caller: copied from the run's one real `phase s0` (see pglite-after-s0.ts).
    await pgliteAfterS0(pgDir);
    const args = ['phase', 's1', '--tenant', 'acme', '--as-of', DEMO_AS_OF, '--max-reject-rate', '0.5'];
    const run = await runMigrator(args, env);
    if (run.code !== 0) throw new Error(`migrator ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return { work, pgDir, env, expected, close };
  } catch (error) {
    await close();
    throw error;
  }
}
