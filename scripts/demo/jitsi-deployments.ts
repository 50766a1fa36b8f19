import type { ServiceApi } from './api';

/** Plan 2.1 per tenant: which tenants now point at their Jitsi deployment, and which had no config to point. */
export interface JitsiDeploymentOutcome {
  pointed: string[];
  withoutConfig: string[];
}

/**
 * Plan 2.1, "deploy branded Jitsi Meet instance", is infrastructure: here each tenant's deployment is a
 * Jitsi stand-in, and the tenant admin points the migrated config at it through the service API
 * (`PUT /config` without `jitsiAppSecret` keeps the secret S1 re-encrypted). A tenant S1 left without a
 * config (a rejected credential) answers 404 and is reported, not fixed.
 */
export async function pointConfigsAtJitsi(api: ServiceApi, deployments: ReadonlyMap<string, { url: string }>): Promise<JitsiDeploymentOutcome> {
  const outcome: JitsiDeploymentOutcome = { pointed: [], withoutConfig: [] };
  for (const [tenant, deployment] of deployments) {
    const admin = { sub: 'Practitioner/demo-admin', tenant, roles: ['vc:admin'] };
    const current = await api.call('GET', '/config', { as: admin, expect: [200, 404] });
    if (current.status === 404) {
      outcome.withoutConfig.push(tenant);
      continue;
    }
    const { jitsiAppId, branding, billing, fhirEraStart, enabled } = current.body;
    await api.call('PUT', '/config', { as: admin, body: { jitsiServerUrl: deployment.url, jitsiAppId, branding, billing, fhirEraStart, enabled }, expect: 200 });
    outcome.pointed.push(tenant);
  }
  return outcome;
}
