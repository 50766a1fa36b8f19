import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { jitsiCredentialsContext } from '@vc/domain/jitsi';
import { awsKmsConnection } from '@vc/config';
import { createKms, decryptAppSecret, type Kms } from '@vc/integrations/kms';
import type { DatabaseHandle } from '@vc/schema';
import type { MigratorConfig } from '../config';
import { collationKey } from '../legacy/matching';
import type { LegacySource } from '../legacy/types';
import { checkLegacyCredentials, UnusableCredentials, type LegacyKeySource } from '../phases/s1/credentials';
import { loadTenantConfig } from '../phases/s2/tenant-config';
import { fail, pass, probe, safeReason, skip, type CheckOutcome, type PreflightContext } from './types';

const awsOptions = (config: MigratorConfig) => ({ aws: awsKmsConnection(config) });

/** Encrypt then decrypt 32 random bytes under the context S1 step 1.3 uses, with the key `VC_KMS` names. */
async function roundTrip(ctx: PreflightContext): Promise<CheckOutcome> {
  const id = 'kms.round_trip';
  const spec = ctx.config.VC_KMS;
  // A missing local keyring is made on first use; preflight writes nothing, so it says so instead.
  if (spec.startsWith('local:') && !existsSync(spec.slice('local:'.length)))
    return pass(id, `local keyring ${spec.slice('local:'.length)} absent: created with a random key on first use (S1 step 1.3)`);
  const tenant = ctx.tenants[0] ?? 'preflight';
  const context = jitsiCredentialsContext(tenant);
  const kms = await createKms(spec, awsOptions(ctx.config));
  const plaintext = randomBytes(32);
  let ciphertext: string;
  try {
    ciphertext = await kms.encrypt(plaintext, context);
  } catch (error) {
    return fail(id, `Encrypt with ${kms.keyId} under {tenantId: ${tenant}, purpose: ${context.purpose}} refused: ${safeReason(error)}`);
  }
  let back: Uint8Array;
  try {
    back = await kms.decrypt(ciphertext, context);
  } catch (error) {
    return fail(id, `Decrypt with ${kms.keyId} under {tenantId: ${tenant}, purpose: ${context.purpose}} refused: ${safeReason(error)}`);
  }
  if (back.length !== plaintext.length || !timingSafeEqual(Buffer.from(back), plaintext))
    return fail(id, `Decrypt with ${kms.keyId} returned other bytes than were encrypted`);
  return pass(id, `Encrypt and Decrypt with ${kms.keyId} under {tenantId: ${tenant}, purpose: ${context.purpose}}`);
}

async function legacyKeySource(config: MigratorConfig): Promise<LegacyKeySource | undefined> {
  if (config.VC_LEGACY_KMS) return { kind: 'kms', legacyKms: await createKms(config.VC_LEGACY_KMS, awsOptions(config)) };
  if (config.VC_LEGACY_MASTER_KEY) return { kind: 'master-key', masterKeyBase64: config.VC_LEGACY_MASTER_KEY };
  return undefined;
}

/** A legacy KMS blob decrypts under `{tenantId}` (the plaintext is zeroed at once); a master-key blob as S1's dry run checks it. */
async function decryptsLegacy(keys: LegacyKeySource, tenantId: string, blob: string): Promise<void> {
  if (keys.kind === 'master-key') return checkLegacyCredentials(keys, tenantId, blob);
  const plaintext = await (keys.legacyKms as Kms).decrypt(blob, { tenantId });
  plaintext.fill(0);
}

/** Every checked tenant's legacy credentials decrypt with the legacy key: else S1 rejects its config (`credential_decrypt_failed`). */
async function legacyCredentials(ctx: PreflightContext, source: LegacySource): Promise<CheckOutcome> {
  const id = 'credentials.legacy';
  const keys = await legacyKeySource(ctx.config);
  if (!keys) return skip(id, 'VC_LEGACY_MASTER_KEY or VC_LEGACY_KMS is not set: needed by S1 step 1.3');
  // A config is the tenant's as legacy's collation reads it (as S1 step 1.3 reads it), and its blob's AAD is the tenantId
  // as the row spells it (as 1.3 decrypts it).
  const wanted = new Map(ctx.tenants.map((t) => [collationKey(t), t]));
  const failed: string[] = [];
  let checked = 0;
  for await (const batch of source.read('TenantVirtualCareConfig', { batchSize: 100 })) {
    for (const row of batch.rows) {
      const tenantId = wanted.get(collationKey(row.tenantId));
      if (tenantId === undefined) continue;
      checked += 1;
      try {
        await decryptsLegacy(keys, row.tenantId ?? '', row.credentials ?? '');
      } catch (error) {
        failed.push(`${tenantId} (${error instanceof UnusableCredentials ? 'does not decrypt' : safeReason(error)})`);
      }
    }
  }
  const key = keys.kind === 'kms' ? 'VC_LEGACY_KMS' : 'VC_LEGACY_MASTER_KEY';
  if (failed.length > 0)
    return fail(
      id,
      `${failed.length} of ${checked} tenant config(s) fail with ${key}: ${failed.join(', ')}; S1 step 1.3 would reject them (credential_decrypt_failed)`,
    );
  return pass(
    id,
    `${checked} of ${checked} tenant config(s) decrypt with ${key}${checked < wanted.size ? ` (${wanted.size - checked} tenant(s) have no legacy config)` : ''}`,
  );
}

/** Configs S1 already migrated decrypt with `VC_KMS` under their tenant's context, as the service will (decryptAppSecret). */
async function targetCredentials(ctx: PreflightContext, handle: DatabaseHandle): Promise<CheckOutcome> {
  const id = 'credentials.target';
  let kms: Kms | undefined;
  const failed: string[] = [];
  let checked = 0;
  for (const tenant of ctx.tenants) {
    const config = await loadTenantConfig(handle.db, tenant);
    if (!config) continue;
    kms ??= await createKms(ctx.config.VC_KMS, awsOptions(ctx.config));
    checked += 1;
    await decryptAppSecret(kms, tenant, config.credentialsCiphertext).catch((error: unknown) => failed.push(`${tenant} (${safeReason(error)})`));
  }
  if (checked === 0) return skip(id, 'no migrated tenant config yet (S1 step 1.3 writes them)');
  if (failed.length > 0) return fail(id, `${failed.length} of ${checked} migrated config(s) do not decrypt with VC_KMS: ${failed.join(', ')}`);
  return pass(id, `${checked} of ${checked} migrated config(s) decrypt with VC_KMS under their tenant's context`);
}

/** KMS reachable and allowed to encrypt and decrypt; every tenant's credentials decrypt, legacy and (once migrated) target. */
export async function kmsChecks(
  ctx: PreflightContext,
  source: LegacySource | undefined,
  handle: DatabaseHandle | undefined,
  noTarget: string,
): Promise<CheckOutcome[]> {
  const out = [await probe('kms.round_trip', () => roundTrip(ctx))];
  out.push(
    source && ctx.tenants.length
      ? await probe('credentials.legacy', () => legacyCredentials(ctx, source))
      : skip('credentials.legacy', 'no tenant to check (the legacy source or the tenant check failed)'),
  );
  out.push(handle ? await probe('credentials.target', () => targetCredentials(ctx, handle)) : skip('credentials.target', noTarget));
  return out;
}
