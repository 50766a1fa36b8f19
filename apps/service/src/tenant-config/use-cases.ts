import { DEFAULT_TENANT_BILLING } from '@vc/domain/billing';
import { mintConnectionTestToken } from '@vc/integrations/jitsi';
import type { ConnectionTestResult, TenantVirtualCareConfig } from '@vc/schema';
import type { Principal } from '../auth/principal';
import type { AppContext } from '../context';
import { AppError, notFound } from '../errors';
import { decryptAppSecret, encryptAppSecret } from '@vc/integrations/kms';
import { withKmsProblem } from './credentials';
import { checkIfMatch } from './etag';
import { findTenantConfig, saveConnectionTest, upsertTenantConfig } from './repo';
import type { ConfigReply, PutConfigBody } from './schemas';

/** The reply view: everything but the ciphertext; `hasAppSecret` says one is stored. */
export function configView(c: TenantVirtualCareConfig): ConfigReply {
  return {
    tenantId: c.tenantId,
    jitsiServerUrl: c.jitsiServerUrl,
    jitsiAppId: c.jitsiAppId,
    hasAppSecret: true,
    kmsKeyId: c.kmsKeyId,
    branding: c.branding ?? null,
    billing: c.billing,
    fhirEraStart: c.fhirEraStart?.toISOString() ?? null,
    enabled: c.enabled,
    lastConnectionTest: c.lastConnectionTest ?? null,
    version: c.version,
    updatedAt: c.updatedAt.toISOString(),
  };
}

/**
 * Creates or replaces the tenant's config. A new app secret is encrypted through KMS before it touches
 * the database; leaving it out on an update keeps the stored one. With `ifMatch` the write happens only
 * if the config is still the one the caller read: checked here, then again atomically on its version.
 */
export async function putTenantConfig(
  ctx: AppContext,
  principal: Principal,
  body: PutConfigBody,
  ifMatch?: string,
): Promise<{ row: TenantVirtualCareConfig; created: boolean }> {
  const existing = await findTenantConfig(ctx.db, principal.tenant);
  checkIfMatch(ifMatch, existing);
  if (!existing && body.jitsiAppSecret === undefined) {
    throw new AppError('validation_failed', 'invalid body.jitsiAppSecret', {
      errors: [{ field: 'body.jitsiAppSecret', message: 'expected the Jitsi app secret when the tenant has no config yet' }],
    });
  }
  const secret = body.jitsiAppSecret;
  const ciphertext =
    secret !== undefined
      ? await withKmsProblem(principal.tenant, 'encrypt', () => encryptAppSecret(ctx.kms, principal.tenant, secret))
      : existing!.credentialsCiphertext;
  const kmsKeyId = body.jitsiAppSecret !== undefined ? ctx.kms.keyId : existing!.kmsKeyId;
  const saved = await upsertTenantConfig(
    ctx.db,
    {
      tenantId: principal.tenant,
      jitsiServerUrl: body.jitsiServerUrl,
      jitsiAppId: body.jitsiAppId,
      credentialsCiphertext: ciphertext,
      kmsKeyId,
      branding: body.branding,
      enabled: body.enabled ?? existing?.enabled ?? true,
      fhirEraStart: body.fhirEraStart === undefined ? (existing?.fhirEraStart ?? null) : body.fhirEraStart === null ? null : new Date(body.fhirEraStart),
      billing: body.billing ?? existing?.billing ?? DEFAULT_TENANT_BILLING,
    },
    ctx.now(),
    ifMatch === undefined ? undefined : existing!.version,
  );
  ctx.tenantConfigs.invalidate(principal.tenant);
  // Another admin's PUT landed between the read and this write.
  if (!saved) throw new AppError('precondition_failed', 'the configuration changed since the If-Match tag was read; GET it again and retry');
  return saved;
}

/** What the probe says of its own refusals (outbound policy), safe to pass on as is. */
const POLICY_DETAILS = new Set(['only https is allowed', 'address not allowed', 'invalid server URL']);

/**
 * The admin learns whether each check passed, not why a network attempt failed: "connection refused"
 * versus "timed out" would turn test-connection into a port scanner. TLS and HTTP verdicts of a server
 * that answered stay, since they are what the admin must fix.
 */
function coarseCheck(check: ConnectionTestResult['checks'][number]): ConnectionTestResult['checks'][number] {
  if (
    check.ok ||
    check.detail === undefined ||
    POLICY_DETAILS.has(check.detail) ||
    /^(HTTP \d{3}|certificate |served HTML|no `config =`|no JitsiMeetExternalAPI|token rejected|not https)/.test(check.detail)
  ) {
    return { ...check };
  }
  return { id: check.id, ok: false, detail: 'unreachable' };
}

/**
 * Probes the tenant's Jitsi deployment with a freshly minted token and checks the token verifies with the
 * stored secret; the result is stored on `last_connection_test` and returned.
 */
export async function testTenantConnection(ctx: AppContext, principal: Principal): Promise<ConnectionTestResult> {
  const config = await findTenantConfig(ctx.db, principal.tenant);
  if (!config) throw notFound('virtual-care configuration');
  const appSecret = await withKmsProblem(principal.tenant, 'decrypt', () => decryptAppSecret(ctx.kms, principal.tenant, config.credentialsCiphertext));
  const { token, verify } = await mintConnectionTestToken({
    appId: config.jitsiAppId,
    serverUrl: config.jitsiServerUrl,
    appSecret,
    now: ctx.now(),
    user: { id: 'connection-test', name: 'Connection test' },
    room: '*',
  });
  const result = await ctx.jitsiProbe.testConnection({ serverUrl: config.jitsiServerUrl, token, verify });
  const stored: ConnectionTestResult = { ok: result.ok, testedAt: result.testedAt, checks: result.checks.map(coarseCheck) };
  await saveConnectionTest(ctx.db, principal.tenant, stored);
  return stored;
}
