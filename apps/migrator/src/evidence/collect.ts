import { ciphertextKeyId } from '@vc/integrations/kms';
import { redactKongSecrets } from '@vc/integrations/kong';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { cutoverHistory } from '../phases/s4/cutover-store';

/** Per reason (or warning code): how many source rows, and their legacy ids (never the rows themselves). */
export type Tally = Record<string, { count: number; legacyIds: string[] }>;

function tallyOf(rows: ReadonlyArray<{ code: string; legacy_id: string }>): Tally {
  const tally: Tally = {};
  for (const r of rows) {
    const entry = (tally[r.code] ??= { count: 0, legacyIds: [] });
    entry.count += 1;
    entry.legacyIds.push(r.legacy_id);
  }
  return tally;
}

/** The tenant's rejects by reason (phase/step kept apart), with the legacy keys of the rejected rows. */
export async function rejectTally(db: Database, tenantId: string): Promise<Tally> {
  const rows = await queryRows<{ code: string; legacy_id: string }>(
    db,
    sql`select phase || '/' || step_id || '/' || reason as code, legacy_key as legacy_id from vc_migration.rejects where tenant_id = ${tenantId} order by id`,
  );
  return tallyOf(rows);
}

/** Warnings the migrated sessions carry (`migrated_from.warnings`), by code, with their legacy ids. */
export async function warningTally(db: Database, tenantId: string): Promise<Tally> {
  const rows = await queryRows<{ code: string; legacy_id: string }>(
    db,
    sql`select w.code, s.legacy_id from virtual_sessions s, jsonb_array_elements_text(coalesce(s.migrated_from -> 'warnings', '[]'::jsonb)) as w(code)
        where s.tenant_id = ${tenantId} and s.legacy_id is not null order by s.legacy_id, w.code`,
  );
  return tallyOf(rows);
}

/** The KMS key (and, for envelopes that name it, the key version) each re-encrypted config is under. */
export async function kmsKeys(db: Database, tenantId: string): Promise<Array<{ config: string; kmsKeyId: string; keyVersion: string }>> {
  const rows = await queryRows<{ kms_key_id: string; credentials_ciphertext: string }>(
    db,
    sql`select kms_key_id, credentials_ciphertext from tenant_virtual_care_configs where tenant_id = ${tenantId}`,
  );
  return rows.map((r) => ({
    config: `TenantVirtualCareConfig:${tenantId}`,
    kmsKeyId: r.kms_key_id,
    // AWS KMS rotates key material behind one key id and does not say which version sealed a blob.
    keyVersion: ciphertextKeyId(r.credentials_ciphertext) ?? 'managed by AWS KMS (automatic rotation behind the key id)',
  }));
}

/**
 * The Kong routing snapshotted before the tenant's latest cutover, and the routing it applied, with plugin
 * configs and credential-named fields redacted: the stored snapshot keeps them for rollback, the pack is read
 * by auditors.
 */
export async function kongSnapshots(db: Database, tenantId: string): Promise<{ before: unknown; after: unknown; cutoverAt: string | null }> {
  const cutover = (await cutoverHistory(db, tenantId)).find((r) => r.action === 'cutover');
  if (!cutover) return { before: null, after: null, cutoverAt: null };
  return {
    before: redactKongSecrets(cutover.previousRouting),
    after: redactKongSecrets(cutover.appliedRouting),
    cutoverAt: new Date(cutover.createdAt).toISOString(),
  };
}
