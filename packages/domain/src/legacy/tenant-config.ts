import { parseBranding } from './branding';
import type { WarningCode } from './codes';
import { nonEmpty } from './text';
import { checkTexts, isStorableJson, type TextRejection } from './text-guard';

/** A legacy `TenantVirtualCareConfig` row as text (docs/design.md §4). */
export interface LegacyTenantConfig {
  tenantId: string;
  jitsiServerUrl: string | null;
  jitsiAppId: string | null;
  credentials: string | null;
  branding: string | null;
  enabled: string | null;
  updatedAt: string | null;
}

/** Everything of a tenant config but the credentials, which the migrator re-encrypts through KMS. */
export interface MappedTenantConfig {
  tenantId: string;
  jitsiServerUrl: string;
  jitsiAppId: string;
  branding: Record<string, unknown> | null;
  enabled: boolean;
  /** The legacy blob (base64 nonce‖ciphertext‖tag) or KMS ciphertext; never logged. */
  credentialsBlob: string;
}

const WRITTEN_TEXTS = { tenantId: 'indexed', jitsiServerUrl: 'text', jitsiAppId: 'text', credentials: 'text', branding: 'text', updatedAt: 'text' } as const;

/**
 * Maps the non-secret fields of a tenant config (docs/design.md §5, plan 1.3). `enabled` is MySQL tinyint text.
 * `unwritable` is set when a text cannot be stored (the row is then rejected with it, not loaded). `tenantId` is the
 * run's tenant, which the config is written under whatever the row's spelling (see `mapLegacySession`).
 */
export function mapTenantConfig(
  row: LegacyTenantConfig,
  tenantId: string,
): { config: MappedTenantConfig; warnings: WarningCode[]; unwritable: TextRejection | null } {
  const branding = parseBranding(row.branding);
  const enabled = (row.enabled ?? '1').trim().toLowerCase();
  const unwritable =
    checkTexts(row, WRITTEN_TEXTS) ??
    (isStorableJson(branding.branding)
      ? null
      : { reason: 'invalid_text' as const, field: 'branding', detail: 'branding holds an escaped NUL or unpaired surrogate (jsonb cannot store it)' });
  return {
    unwritable,
    warnings: branding.warning ? [branding.warning] : [],
    config: {
      tenantId,
      jitsiServerUrl: nonEmpty(row.jitsiServerUrl) ?? '',
      jitsiAppId: nonEmpty(row.jitsiAppId) ?? '',
      branding: branding.branding,
      enabled: !(enabled === '0' || enabled === 'false' || enabled === "b'0'"),
      credentialsBlob: (row.credentials ?? '').trim(),
    },
  };
}
