import { mintConnectionTestToken } from '@vc/integrations/jitsi';
import { decryptAppSecret } from '@vc/integrations/kms';
import type { Step } from '../../engine/types';
import { loadTenantConfig } from './tenant-config';

/**
 * Plan 2.2: test JWT authentication against the tenant's Jitsi deployment (2.1 deployed it; its URL is
 * in the migrated config). The app secret is decrypted through KMS, a Jitsi JWT minted with it, and the
 * probe checks reachability, TLS, `config.js`, `external_api.js` and that the token verifies. The result
 * is stored on the config (`last_connection_test`), which validation reads; a failing test fails the step.
 * Storing it leaves `updated_at` and `version` alone (as the service's own test-connection does): a test is no
 * change of the config, which stays the migrator's (still-migrated.ts), so legacy's later changes are still carried.
 */
export const jitsiJwtStep: Step = {
  id: '2.2',
  title: 'Test Jitsi JWT authentication (test-connection)',
  async run(ctx) {
    const config = await loadTenantConfig(ctx.db.db, ctx.tenantId);
    if (!config) {
      throw new Error(
        `tenant ${ctx.tenantId} has no migrated Jitsi config: run s1 (step 1.3) first; a credential_decrypt_failed reject leaves none (see \`migrator rejects --tenant ${ctx.tenantId}\`)`,
      );
    }
    const appSecret = await decryptAppSecret(await ctx.services.kms(), config.tenantId, config.credentialsCiphertext);
    const now = new Date();
    const user = { id: 'migrator', name: 'migrator connection test' };
    const { token, verify } = await mintConnectionTestToken({
      appId: config.jitsiAppId,
      serverUrl: config.jitsiServerUrl,
      appSecret,
      now,
      user,
      ttlSeconds: 120,
    });
    const result = await (await ctx.services.jitsi()).testConnection({ serverUrl: config.jitsiServerUrl, token, verify });
    const failing = result.checks.filter((c) => !c.ok).map((c) => c.id);
    await ctx.commit({
      cursor: { testedAt: result.testedAt },
      read: 1,
      written: 1,
      facts: { connectionOk: result.ok, failingChecks: failing },
      write: async (tx) => {
        await tx.query('update tenant_virtual_care_configs set last_connection_test = $1::jsonb where tenant_id = $2', [JSON.stringify(result), ctx.tenantId]);
      },
    });
    if (!result.ok)
      throw new Error(
        `Jitsi test-connection failed for tenant ${ctx.tenantId}: failing checks ${failing.join(', ')} (${ctx.options.dryRun ? 'dry run: result not stored' : 'result stored on the config'})`,
      );
    ctx.log.info({ tenant: ctx.tenantId, checks: result.checks.length }, 'Jitsi test-connection passed');
  },
};
