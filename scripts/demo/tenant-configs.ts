import type { ServiceApi } from './api';
import type { Caller } from './tokens';

/** What the tenant admins did before S2: which configs now point at their Jitsi, and each FHIR era start. */
export interface TenantConfigOutcome {
  pointed: Array<{ tenant: string; fhirEraStart: string | null }>;
  withoutConfig: string[];
}

/**
 * The start of the tenant's FHIR era as its admin would confirm it (plan §5: Encounters exist for every
 * migrated ended session "or confirmed pre-FHIR era"): just after the last migrated ended session that
 * legacy recorded without an Encounter. Null when every one has an Encounter. Read through the API, page by page.
 */
export async function confirmedFhirEraStart(api: ServiceApi, admin: Caller): Promise<string | null> {
  let latest: number | undefined;
  let cursor: string | null = null;
  do {
    const query: string = `/sessions?status=ended&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await api.call('GET', query, { as: admin, expect: 200 });
    for (const s of page.body.items as Array<{ legacyId: string | null; encounterRef: string | null; endedAt: string | null }>) {
      if (s.legacyId === null || s.encounterRef !== null || s.endedAt === null) continue;
      latest = Math.max(latest ?? 0, Date.parse(s.endedAt));
    }
    cursor = page.body.nextCursor as string | null;
  } while (cursor);
  return latest === undefined ? null : new Date(latest + 1).toISOString();
}

/**
 * Plan 2.1, "deploy branded Jitsi Meet instance", is infrastructure: here each tenant's deployment is a
 * Jitsi stand-in, and the tenant admin points the migrated config at it through the service API (`PUT
 * /config` without `jitsiAppSecret` keeps the secret S1 re-encrypted), recording the confirmed FHIR era
 * start in the same call. A tenant S1 left without a config (a rejected credential) answers 404 and is
 * reported, not fixed.
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
    const fhirEraStart = await confirmedFhirEraStart(api, admin);
    const { jitsiAppId, branding, billing, enabled } = current.body;
    await api.call('PUT', '/config', { as: admin, body: { jitsiServerUrl: deployment.url, jitsiAppId, branding, billing, fhirEraStart, enabled }, expect: 200 });
    outcome.pointed.push({ tenant, fhirEraStart });
  }
  return outcome;
}
