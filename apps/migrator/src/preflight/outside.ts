import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createAccessPolicyClient } from '@vc/integrations/access-policy';
import { probeJetStream } from '@vc/integrations/nats';
import { fail, pass, probe, skip, type CheckOutcome, type PreflightContext } from './types';

/** VIRTUAL_CARE (the service's events) and VC_MIGRATION_WORK (distributed plans): JetStream up, streams as S0 leaves them. */
async function nats(ctx: PreflightContext): Promise<CheckOutcome> {
  const id = 'nats.jetstream';
  const { VC_NATS_URL: url, VC_NATS_STREAM: events, VC_NATS_WORK_STREAM: work } = ctx.config;
  if (!url) return skip(id, 'VC_NATS_URL not set: events stay in the outbox table; enqueue and worker need it');
  const streams = await probeJetStream({ url, streams: [events, work] });
  const e = streams[events]!;
  const w = streams[work]!;
  if (w.present && w.retention !== 'workqueue')
    return fail(id, `stream ${work} has ${w.retention} retention, expected workqueue: delete it or set VC_NATS_WORK_STREAM; S0 cannot change it in place`);
  const say = (name: string, s: typeof e) => (s.present ? `${name} present (${s.messages} messages)` : `${name} absent (S0 creates it)`);
  return pass(id, `JetStream enabled; ${say(events, e)}; ${say(work, w)}`);
}

async function fhir(ctx: PreflightContext): Promise<CheckOutcome> {
  const id = 'fhir.reachable';
  if (!ctx.config.VC_FHIR_BASE_URL) return skip(id, 'VC_FHIR_BASE_URL not set: needed by s2, s4 and tenant onboard');
  // Imported here: the FHIR client pulls in @medplum/core.
  const { createFhirClient, SESSION_IDENTIFIER_SYSTEM } = await import('@vc/integrations/fhir');
  await createFhirClient({ baseUrl: ctx.config.VC_FHIR_BASE_URL, timeoutMs: 5_000 }).findEncounter({
    system: SESSION_IDENTIFIER_SYSTEM,
    value: 'preflight-probe',
  });
  return pass(id, 'FHIR R4 answered an Encounter search by identifier');
}

async function accessPolicy(ctx: PreflightContext): Promise<CheckOutcome> {
  const id = 'access_policy.reachable';
  if (!ctx.config.VC_ACCESS_POLICY_URL) return skip(id, 'VC_ACCESS_POLICY_URL not set: needed by s3 and validate');
  const tenant = ctx.tenants[0] ?? 'preflight';
  const consents = await createAccessPolicyClient({ baseUrl: ctx.config.VC_ACCESS_POLICY_URL, timeoutMs: 5_000 }).countConsents(tenant);
  return pass(id, `access-policy answered: tenant ${tenant} has ${consents} telehealth consent(s)`);
}

/** The nearest directory of `path` that exists, to see whether the decK file could be written there. */
async function writableDir(path: string): Promise<string> {
  let dir = dirname(path);
  for (;;) {
    try {
      await access(dir, constants.F_OK);
      await access(dir, constants.W_OK);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) throw error;
      dir = dirname(dir);
    }
  }
}

async function kong(ctx: PreflightContext): Promise<CheckOutcome> {
  const id = 'kong.reachable';
  const { VC_KONG_ADMIN_URL: adminUrl } = ctx.config;
  if (!adminUrl) {
    const file = ctx.config.VC_KONG_FILE ?? '.data/kong.yaml';
    await writableDir(file);
    return pass(id, `no VC_KONG_ADMIN_URL: S4 writes the decK file ${file} (its directory is writable)`);
  }
  const { createKongGateway } = await import('@vc/integrations/kong');
  const routing = await createKongGateway({ adminUrl, retries: 0 }).snapshot();
  return pass(
    id,
    `Kong Admin API answered: ${routing.services.length} service(s), ${routing.services.reduce((n, s) => n + (s.routes?.length ?? 0), 0)} route(s)`,
  );
}

/** NATS JetStream, FHIR, access-policy and Kong, each only when configured (a skip names the variable). */
export async function outsideChecks(ctx: PreflightContext): Promise<CheckOutcome[]> {
  return Promise.all([
    probe('nats.jetstream', () => nats(ctx)),
    probe('fhir.reachable', () => fhir(ctx)),
    probe('access_policy.reachable', () => accessPolicy(ctx)),
    probe('kong.reachable', () => kong(ctx)),
  ]);
}
