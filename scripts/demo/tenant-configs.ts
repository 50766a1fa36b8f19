import type { ServiceApi } from './api';

/** What the tenant admins did before S2: which configs now point at their Jitsi. */
export interface TenantConfigOutcome {
  pointed: string[];
  withoutConfig: string[];
}

/**
 * Plan 2.1, "deploy branded Jitsi Meet instance", is infrastructure: here each tenant's deployment is a
 * Jitsi stand-in, and the tenant admin points the migrated config at it through the service API (`PUT
 * /config` without `jitsiAppSecret` keeps the secret S1 re-encrypted). No FHIR era start is set: every
 * migrated ended session must have an Encounter, and S2 2.4 creates the ones legacy never made. A tenant
 * S1 left without a config (a rejected credential) answers 404 and is reported, not fixed.
 */
export async function prepareTenantConfigs(api: ServiceApi, deployments: ReadonlyMap<string, { url: string }>): Promise<TenantConfigOutcome> {
  const outcome: TenantConfigOutcome = { pointed: [], withoutConfig: [] };
  for (const [tenant, deployment] of deployments) {
    const admin = { sub: 'Practitioner/demo-admin', tenant, roles: ['vc:admin'] };
    const current = await api.call('GET', '/config', { as: admin, expect: [200, 404] });
    if (current.status === 404) {
      outcome.withoutConfig.push(tenant);
      continue;
    }
    const { jitsiAppId, branding, billing, enabled } = current.body;
    await api.call('PUT', '/config', { as: admin, body: { jitsiServerUrl: deployment.url, jitsiAppId, branding, billing, enabled }, expect: 200 });
    outcome.pointed.push(tenant);
  }
  return outcome;
}
