import { mapTenantConfig, parseLegacyDatetime, tallyCodes, type LegacyTenantConfig, type WarningCode } from '@vc/domain/legacy';
import { KmsError } from '@vc/integrations/kms';
import pLimit from 'p-limit';
import type { RejectInput, Step, StepContext, Tx } from '../../engine/types';
import { UsageError } from '../../engine/errors';
import { reEncryptCredentials, UnusableCredentials, type LegacyKeySource } from './credentials';
import { faultRejects, recordsOf } from '../../legacy/record-faults';
import { configStillMigrated } from '../still-migrated';

interface ConfigRow {
  tenantId: string;
  values: unknown[];
  warnings: WarningCode[];
}

const COLUMNS = [
  'tenant_id',
  'jitsi_server_url',
  'jitsi_app_id',
  'credentials_ciphertext',
  'kms_key_id',
  'branding',
  'enabled',
  'updated_at',
  'migrated_version',
] as const;

async function legacyKeys(ctx: StepContext): Promise<LegacyKeySource> {
  const legacyKms = await ctx.services.legacyKms();
  if (legacyKms) return { kind: 'kms', legacyKms };
  if (ctx.config.VC_LEGACY_MASTER_KEY) return { kind: 'master-key', masterKeyBase64: ctx.config.VC_LEGACY_MASTER_KEY };
  throw new UsageError('step 1.3 needs VC_LEGACY_MASTER_KEY (base64, 32 bytes) or VC_LEGACY_KMS (aws:<key-id>) to read legacy credentials');
}

/**
 * A config row takes legacy's values again on a re-run (`--restart-step 1.1`/`1.3`) only while it is still the
 * migrator's (`configStillMigrated`, still-migrated.ts): 1.3 wrote it and no `PUT /config` since (every PUT bumps
 * `version`, apps/service/src/tenant-config/repo.ts; the migrator never does). A config the service created where S1
 * left none (a rejected `credential_decrypt_failed`) carries no mark and is the service's. Its updated_at decides
 * nothing: an earlier release's S2 2.2 stamped it with the time of its test. The admin repoints the config at the
 * tenant's new Jitsi before S2 (plan 2.1), and legacy's older values over it would break every join. validate's
 * `fingerprints.configs` counts the same rows the service's (`changedSinceMigration`).
 */
async function writeConfigs(tx: Tx, rows: readonly ConfigRow[]): Promise<number> {
  const update = COLUMNS.filter((c) => c !== 'tenant_id')
    .map((c) => (c === 'migrated_version' ? `${c} = tenant_virtual_care_configs.version` : `${c} = excluded.${c}`))
    .join(', ');
  // The row count of an upsert counts inserted and updated rows, not those its `where` left alone.
  const written = await tx.insertMany(
    'tenant_virtual_care_configs',
    COLUMNS,
    rows.map((r) => r.values),
    { onConflict: `(tenant_id) do update set ${update} where ${configStillMigrated('tenant_virtual_care_configs')}` },
  );
  return rows.length - written;
}

/**
 * Plan 1.3: migrate TenantVirtualCareConfig, re-encrypting credentials through KMS (p-limit bounded by
 * --concurrency). A blob that does not decrypt is rejected `credential_decrypt_failed` (no config row;
 * validation then fails for that tenant). A KMS denial fails the step; nothing of the batch is written,
 * so the next run redoes it.
 */
export const tenantConfigsStep: Step = {
  id: '1.3',
  title: 'Migrate TenantVirtualCareConfig; re-encrypt credentials in KMS',
  // One config row per tenant: a rate is meaningless here. A rejected config fails `migrator validate` instead.
  maxRejectRate: 1,
  async run(ctx, checkpoint) {
    const source = await ctx.services.legacy();
    // Under --dry-run a recorder: nothing is encrypted, no keyring file is created (engine/recorders.ts).
    const kms = await ctx.services.kms();
    const keys = await legacyKeys(ctx);
    const limit = pLimit(ctx.options.concurrency);
    const after = (checkpoint.cursor?.position as string | undefined) ?? null;
    for await (const batch of source.read('TenantVirtualCareConfig', { tenantId: ctx.tenantId, after, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
      // A malformed record may hold a credentials blob: its text is withheld like a rejected row's blob.
      const rejects: RejectInput[] = faultRejects(batch.faults, { withhold: true });
      const outcomes = await Promise.all(
        batch.rows.map((row) =>
          limit(async (): Promise<ConfigRow | undefined> => {
            const { config, warnings, unwritable } = mapTenantConfig(row as unknown as LegacyTenantConfig, ctx.tenantId);
            if (unwritable) {
              rejects.push({ legacyKey: config.tenantId, reason: unwritable.reason, detail: unwritable.detail, raw: { ...row, credentials: '[withheld]' } });
              return undefined;
            }
            try {
              const ciphertext = await reEncryptCredentials(
                kms,
                keys,
                { legacy: row.tenantId ?? '', target: config.tenantId },
                config.credentialsBlob,
                (attempt) => ctx.log.warn({ attempt }, 'KMS throttled or unavailable; retrying with backoff'),
              );
              const updated = parseLegacyDatetime(row.updatedAt);
              const values = [
                config.tenantId,
                config.jitsiServerUrl,
                config.jitsiAppId,
                ciphertext,
                kms.keyId,
                config.branding,
                config.enabled,
                updated.kind === 'ok' ? updated.value : new Date(),
                // A new config's version (the column's default); an upsert records the stored one (`writeConfigs`).
                1,
              ];
              return { tenantId: config.tenantId, warnings, values };
            } catch (error) {
              if (error instanceof UnusableCredentials) {
                // The raw row keeps everything but the blob: it is a secret under the legacy key, useless in a report.
                rejects.push({
                  legacyKey: config.tenantId,
                  reason: 'credential_decrypt_failed',
                  detail: error.message,
                  raw: { ...row, credentials: '[withheld]' },
                });
                return undefined;
              }
              if (error instanceof KmsError)
                throw new Error(`KMS ${error.code} re-encrypting the credentials of tenant ${config.tenantId}: ${error.message}`, { cause: error });
              throw error;
            }
          }),
        ),
      );
      const loaded = outcomes.filter((o): o is ConfigRow => o !== undefined);
      await ctx.commit({
        cursor: { position: batch.position },
        read: recordsOf(batch),
        written: loaded.length,
        rejects,
        warnings: tallyCodes(loaded.map((l) => l.warnings)) as Record<string, number>,
        write: async (tx) => {
          if (loaded.length === 0) return;
          const kept = await writeConfigs(tx, loaded);
          if (kept === 0) return;
          // Not silent: the summary counts it, and the log says which tenant's config stayed as the service has it.
          ctx.log.warn(
            { tenant: ctx.tenantId, kept },
            'tenant config changed by the service since the migration (PUT /config): kept, legacy not written over it',
          );
          return { written: -kept, warnings: { config_changed_by_service: kept } };
        },
      });
      if (ctx.signal.aborted) return;
    }
  },
};
