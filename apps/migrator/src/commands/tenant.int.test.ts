import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { createFhirClient, SESSION_IDENTIFIER_SYSTEM, startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { startLicensingStandIn, type LicensingStandIn } from '@vc/integrations/licensing';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phiHits, producedOutput, runMigrator } from '../validate/testing/harness';

/**
 * `migrator tenant onboard` against the real virtual-care-service, started as its own process (the apps
 * never import each other) on real PostgreSQL and NATS, live mode so its outbox relay creates the Encounter.
 */
const SERVICE_DIR = fileURLToPath(new URL('../../../service', import.meta.url));

let pg: TestDatabase;
let fhir: FhirStandIn;
let accessPolicy: AccessPolicyStandIn;
let jitsi: JitsiStandIn;
let brokenJitsi: JitsiStandIn;
let licensing: LicensingStandIn;
let work: string;
let service: ChildProcess;
let serviceUrl: string;
let serviceLog = '';
const authSecret = randomBytes(32).toString('hex');
const appSecret = `jitsi-${randomBytes(16).toString('hex')}`;

async function startService(): Promise<string> {
  const tag = randomBytes(6).toString('hex');
  // The service build of this test run (scripts/test-build.mjs), as production starts it: no tsx transform at the start.
  const bin = process.env.VC_TEST_SERVICE_BIN;
  if (!bin) throw new Error('VC_TEST_SERVICE_BIN is unset: run the tests through vitest.config.ts, whose globalSetup builds the service');
  service = spawn(process.execPath, [bin], {
    cwd: SERVICE_DIR,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      VC_LISTEN_HOST: '127.0.0.1',
      VC_MODE: 'live',
      VC_DATABASE_URL: pg.url,
      VC_KMS: `local:${join(work, 'service-kms.json')}`,
      VC_AUTH_HS256_SECRET: authSecret,
      VC_FHIR_BASE_URL: fhir.url,
      VC_ACCESS_POLICY_URL: accessPolicy.url,
      VC_NATS_URL: process.env.VC_TEST_NATS_URL,
      VC_NATS_STREAM: `VC_ONBOARD_${tag}`,
      VC_NATS_SUBJECT_PREFIX: `o${tag}.`,
      VC_LOG_LEVEL: 'info',
      // The tenant's Jitsi stand-in is plain http on loopback: test-connection refuses both unless told.
      VC_OUTBOUND_ALLOW: '127.0.0.1/32',
      VC_OUTBOUND_ALLOW_HTTP: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      serviceLog += chunk.toString('utf8');
      const port = /"port":(\d+)[^\n]*virtual-care-service listening/.exec(serviceLog)?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    };
    service.stdout!.on('data', onData);
    service.stderr!.on('data', onData);
    service.on('exit', (code) => reject(new Error(`service exited with ${code} before listening`)));
  });
}

beforeAll(async () => {
  [pg, fhir, accessPolicy, jitsi, brokenJitsi, licensing] = await Promise.all([
    createTestDatabase(),
    startFhirStandIn(),
    startAccessPolicyStandIn(),
    startJitsiStandIn(),
    startJitsiStandIn({ broken: true }),
    startLicensingStandIn(),
  ]);
  work = await mkdtemp(join(tmpdir(), 'vc-onboard-'));
  await writeFile(join(work, 'auth-secret'), `${authSecret}\n`);
  await writeFile(join(work, 'jitsi-secret'), `${appSecret}\n`);
  await writeFile(join(work, 'branding.json'), JSON.stringify({ primaryColor: '#0a5' }));
  serviceUrl = await startService();
}, 120_000);

afterAll(async () => {
  if (service && service.exitCode === null) {
    const exited = new Promise((resolve) => service.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  await Promise.all([
    pg?.drop(),
    fhir?.close(),
    accessPolicy?.close(),
    jitsi?.close(),
    brokenJitsi?.close(),
    licensing?.close(),
    work ? rm(work, { recursive: true, force: true }) : undefined,
  ]);
});

const onboard = (tenant: string, jitsiUrl: string, extra: { serviceUrl?: string; flags?: string[] } = {}) =>
  runMigrator(
    [
      'tenant',
      'onboard',
      '--tenant',
      tenant,
      '--service-url',
      extra.serviceUrl ?? serviceUrl,
      '--jitsi-url',
      jitsiUrl,
      '--jitsi-app-id',
      `${tenant}-app`,
      '--jitsi-secret-file',
      join(work, 'jitsi-secret'),
      '--branding-file',
      join(work, 'branding.json'),
      '--token-secret-file',
      join(work, 'auth-secret'),
      '--json',
      ...(extra.flags ?? []),
    ],
    { VC_LICENSING_URL: licensing.url, VC_FHIR_BASE_URL: fhir.url, VC_KMS: `local:${join(work, 'migrator-kms.json')}` },
  );

// Each test runs the CLI as a child process a few times: slower than vitest's default on a busy machine.
describe('migrator tenant onboard (plan §3)', { timeout: 180_000 }, () => {
  it('puts the config, tests the connection, enables the module, runs a first session and finds its Encounter', async () => {
    const run = await onboard('newco', jitsi.url);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { tenant: string; status: string; steps: Array<{ id: string; status: string; detail?: string }> };
    expect(report.status).toBe('done');
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ['config', 'done'],
      ['test_connection', 'done'],
      ['module', 'done'],
      ['first_session', 'done'],
      ['encounter', 'done'],
    ]);
    expect(report.steps[2]!.detail).toBe('enabled');
    expect(licensing.modules('newco').map((m) => [m.module, m.enabled])).toEqual([['virtual-care', true]]);
    const sessionId = /^session (\S+)$/.exec(report.steps[3]!.detail ?? '')?.[1];
    const encounter = await createFhirClient({ baseUrl: fhir.url }).findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: sessionId! });
    expect(encounter?.resourceType).toBe('Encounter');
  });

  it('is safe to run again: the module is already enabled and a new first session is verified', async () => {
    const run = await onboard('newco', jitsi.url);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { steps: Array<{ id: string; detail?: string }> };
    expect(report.steps.find((s) => s.id === 'module')?.detail).toBe('already enabled');
  });

  it('stops at a failing test-connection with exit 1 and enables nothing', async () => {
    const run = await onboard('brokenco', brokenJitsi.url);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { status: string; steps: Array<{ id: string; status: string; detail?: string }> };
    expect(report.status).toBe('failed');
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ['config', 'done'],
      ['test_connection', 'failed'],
    ]);
    expect(report.steps[1]!.detail).toContain('external_api_js');
    expect(licensing.modules('brokenco')).toEqual([]);
  });

  it('fails the step, exit 1, when the service hangs or is down, instead of waiting for ever', async () => {
    // Accepts the connection and the request, never answers: a service stuck behind a lock or a dead upstream.
    const hung: Server = createServer(() => undefined);
    hung.listen(0, '127.0.0.1');
    await once(hung, 'listening');
    try {
      const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
      const stuck = await onboard('hungco', jitsi.url, { serviceUrl: url, flags: ['--service-timeout', '300'] });
      expect(stuck.code).toBe(1);
      const report = JSON.parse(stuck.stdout) as { status: string; steps: Array<{ id: string; status: string; detail?: string }> };
      expect(report.steps).toEqual([{ id: 'config', status: 'failed', detail: 'PUT /config got no answer within 300 ms' }]);
      expect(stuck.stderr).toContain('stopped at config');
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
    const closed: Server = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const down = await onboard('downco', jitsi.url, { serviceUrl: `http://127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    const report = JSON.parse(down.stdout) as { steps: Array<{ id: string; status: string; detail?: string }> };
    expect(report.steps).toEqual([{ id: 'config', status: 'failed', detail: 'PUT /config could not reach the service (ECONNREFUSED)' }]);
    expect(licensing.modules('hungco')).toEqual([]);
  });

  it('refuses a --service-timeout that is not milliseconds (exit 2)', async () => {
    const run = await onboard('x', jitsi.url, { flags: ['--service-timeout', '5s'] });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--service-timeout expects milliseconds (a whole number, e.g. 30000), got "5s"');
  });

  it('refuses to run without tokens (exit 2)', async () => {
    const run = await runMigrator(
      [
        'tenant',
        'onboard',
        '--tenant',
        'x',
        '--service-url',
        serviceUrl,
        '--jitsi-url',
        jitsi.url,
        '--jitsi-app-id',
        'x',
        '--jitsi-secret-file',
        join(work, 'jitsi-secret'),
      ],
      {},
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('needs --admin-token-file and --practitioner-token-file, or --token-secret-file');
  });

  it('never prints the app secret, the auth secret or a token', () => {
    const texts = producedOutput().map((text, i) => ({ path: `cli-run-${i}`, text }));
    expect(phiHits(texts, [appSecret, authSecret, 'Patient/onboarding-test', 'eyJ'])).toEqual([]);
  });
});
