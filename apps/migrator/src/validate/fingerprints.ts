import { fingerprintsMatch, type CheckResult } from '@vc/domain/checklist';
import { mapTenantConfig, pickDuplicateWinner, type LegacyTenantConfig, type LegacyVirtualSession } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { digestOf, digestOfSum, leafOf, narrowDifference, type Leaves } from '../evidence/fingerprint';
import type { LegacySource } from '../legacy/types';
import { legacyParticipantLeaves, targetParticipantLeaves } from './participant-fingerprint';
import { lateEventSessions } from './late-events';
import { deltaSyncScope, foldsParticipants, mapInScope, type DeltaSyncScope } from './s4-scope';
import { clashRejectedIds } from './clash-rejects';
import { rejectedRecordLocations } from './unread-records';
import type { SessionTally } from './session-tally';
import type { TargetCountsOf } from './target-counts';
import { sessionProjection, TARGET_SESSION_COLUMNS, targetSessionLeaf, type TargetRow } from './session-digests';
import { streamedFingerprints, type StreamedTable } from './streamed-fingerprints';
import { configStillMigrated, OWNER_COLUMNS, ownerOf, type OwnedRow } from '../phases/still-migrated';

/** One table's reconciliation: both sides' digests and row counts, and the legacy ids that differ. */
export interface TableFingerprint {
  table: 'sessions' | 'configs' | 'participants';
  legacy: { digest: string; rows: number };
  target: { digest: string; rows: number };
  equal: boolean;
  differing: string[];
  rangesCompared: number;
  /**
   * Rows the service rewrote after the migration (a tenant admin's PUT /config; once S4 cut over, a session
   * the service ran or changed since): left out of both sides. The streamed pass keeps a sample of them.
   */
  changedSinceMigration: string[];
  /** How many rows `changedSinceMigration` stands for, when it is a sample. */
  changedSinceMigrationRows?: number;
  /** Malformed source records (CSV `file:line`) no phase rejected: their content is unknown, so the table cannot match. */
  unread?: string[];
}

/** The legacy sessions side of the per-id comparison. */
export interface LegacySessions {
  leaves: Map<string, bigint>;
  /** Rows left to a later sync (see `deferredRow`): out of both sides. */
  deferred: Set<string>;
  /** Each loaded id's legacy `updatedAt` (ms), to tell a session the service changed since. */
  updatedAt: Map<string, number>;
  /** Loaded ids whose participants legacy does not give (S4 loads an upcoming session `scheduled`). */
  scheduled: Set<string>;
}

/**
 * Legacy side: every session row mapped as the phase responsible for it maps it (S1 at the tenant's
 * watermark; once S4's delta sync ran, `s4`, the rows it loads as it maps them), the duplicate-id winner per
 * id. Rows left to a later sync are returned apart, to leave them out of both sides.
 */
export async function legacySessionLeaves(
  legacy: LegacySource,
  tenantId: string,
  watermark: Date,
  batchSize: number,
  s4?: DeltaSyncScope,
  lateEvents?: ReadonlySet<string>,
): Promise<LegacySessions> {
  // Per id only what the duplicate rule needs and the leaf (not the mapped row): a tenant's ids, not its rows, in memory.
  const winners = new Map<string, { updatedAt: Date; leaf: bigint; folds: boolean }>();
  const deferred = new Set<string>();
  for await (const batch of legacy.read('VirtualSession', { tenantId, batchSize })) {
    for (const row of batch.rows) {
      const mapping = mapInScope(row as unknown as LegacyVirtualSession, watermark, s4, tenantId, lateEvents);
      if (mapping.kind === 'deferred') deferred.add((row.id ?? '').trim());
      if (mapping.kind !== 'load') continue;
      const seen = winners.get(mapping.session.legacyId);
      if (!seen || pickDuplicateWinner(seen, mapping.session) === 'later')
        winners.set(mapping.session.legacyId, {
          updatedAt: mapping.session.updatedAt,
          leaf: leafOf(sessionProjection(mapping.session)),
          folds: foldsParticipants(mapping.session.status),
        });
    }
  }
  const out: LegacySessions = { leaves: new Map(), deferred, updatedAt: new Map(), scheduled: new Set() };
  for (const [id, w] of winners) {
    out.leaves.set(id, w.leaf);
    out.updatedAt.set(id, w.updatedAt.getTime());
    if (!w.folds) out.scheduled.add(id);
  }
  return out;
}

/**
 * Target sessions the service changed after the cutover: a row no longer the migrator's (still-migrated.ts: the
 * service wrote it since the migrator did; an unmarked row, whose updated_at is later than its legacy version's).
 * S4's upsert refuses to overwrite such a row, so it is the service's now, not the migration's: compared no more.
 */
export interface ChangedSince {
  /** Legacy `updatedAt` (ms) per loaded id. */
  updatedAt: ReadonlyMap<string, number>;
  /** Filled with the ids found changed. */
  changed: string[];
}

/** Target side, read a page at a time (keyset on legacy_id): the rows never sit in memory all at once, only their leaves. */
export async function targetSessionLeaves(
  db: Database,
  tenantId: string,
  deferred: ReadonlySet<string>,
  batchSize: number,
  since?: ChangedSince,
): Promise<Map<string, bigint>> {
  const leaves = new Map<string, bigint>();
  for (let after = ''; ;) {
    const rows = await queryRows<TargetRow & OwnedRow>(
      db,
      sql`select ${TARGET_SESSION_COLUMNS}, ${sql.raw(OWNER_COLUMNS)}
          from virtual_sessions where tenant_id = ${tenantId} and legacy_id is not null and legacy_id > ${after} order by legacy_id limit ${batchSize}`,
    );
    if (rows.length === 0) return leaves;
    after = rows[rows.length - 1]!.legacy_id;
    for (const r of rows) {
      if (deferred.has(r.legacy_id)) continue;
      if (since && !ownerOf(r, since.updatedAt.get(r.legacy_id) ?? Number.POSITIVE_INFINITY).migrators) {
        since.changed.push(r.legacy_id);
        continue;
      }
      leaves.set(r.legacy_id, targetSessionLeaf(r));
    }
  }
}

/** A config's non-secret fields (credentials are re-encrypted: their ciphertexts differ by design). */
const configProjection = (c: { tenantId: string; jitsiServerUrl: string; jitsiAppId: string; branding: unknown; enabled: boolean }) => ({
  tenantId: c.tenantId,
  jitsiServerUrl: c.jitsiServerUrl,
  jitsiAppId: c.jitsiAppId,
  branding: c.branding ?? null,
  enabled: c.enabled,
});

/**
 * Plan 2.1 has each tenant admin repoint the migrated config at the new Jitsi (PUT /config): a config the service
 * wrote since S1 1.3 did (or created where 1.3 wrote none) is the service's, no longer the migration's, and is
 * compared no more; one still the migrator's is, whatever its updated_at says (`configStillMigrated`, the rule a
 * re-run of 1.3 writes by).
 */
async function configLeaves(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
): Promise<{ legacy: Map<string, bigint>; target: Map<string, bigint>; changed: string[] }> {
  const legacyLeaves = new Map<string, bigint>();
  for await (const batch of legacy.read('TenantVirtualCareConfig', { tenantId, batchSize: 10 })) {
    for (const row of batch.rows) {
      legacyLeaves.set(tenantId, leafOf(configProjection(mapTenantConfig(row as unknown as LegacyTenantConfig, tenantId).config)));
    }
  }
  const rows = await queryRows<{ jitsi_server_url: string; jitsi_app_id: string; branding: unknown; enabled: boolean; changed: boolean }>(
    db,
    sql`select c.jitsi_server_url, c.jitsi_app_id, c.branding, c.enabled,
               not ${sql.raw(configStillMigrated('c'))} as changed
        from tenant_virtual_care_configs c where c.tenant_id = ${tenantId}`,
  );
  const target = new Map<string, bigint>();
  const changed: string[] = [];
  for (const r of rows) {
    if (r.changed) changed.push(tenantId);
    else
      target.set(
        tenantId,
        leafOf(configProjection({ tenantId, jitsiServerUrl: r.jitsi_server_url, jitsiAppId: r.jitsi_app_id, branding: r.branding, enabled: r.enabled })),
      );
  }
  // A config S1 rejected (its credentials did not decrypt) is tallied in the rejects, not migrated: not compared.
  const rejected = await queryRows<{ legacy_key: string }>(
    db,
    sql`select legacy_key from vc_migration.rejects where tenant_id = ${tenantId} and phase = 's1' and step_id = '1.3'`,
  );
  for (const id of [...changed, ...rejected.map((r) => r.legacy_key)]) legacyLeaves.delete(id);
  return { legacy: legacyLeaves, target, changed };
}

function compare(table: TableFingerprint['table'], legacy: Leaves, target: Leaves, changedSinceMigration: readonly string[] = []): TableFingerprint {
  const { differing, rangesCompared } = narrowDifference(legacy, target);
  return {
    table,
    legacy: { digest: digestOf(legacy), rows: legacy.size },
    target: { digest: digestOf(target), rows: target.size },
    equal: differing.length === 0,
    differing,
    rangesCompared,
    changedSinceMigration: [...changedSinceMigration],
  };
}

/** A table with records legacy could not read is not equal, whatever the digests say (the evidence pack shows both). */
const withUnread = (f: TableFingerprint, unread: string[]): TableFingerprint => (unread.length ? { ...f, equal: false, unread } : f);

interface SessionsFingerprint {
  fingerprint: TableFingerprint;
  /** The legacy ids whose participants legacy gives (loaded, not `scheduled`), for the per-id participants fingerprint. */
  loaded: ReadonlySet<string>;
  /** Ids out of both sides: left to a later sync, or changed by the service since (see {@link ChangedSince}). */
  excluded: ReadonlySet<string>;
  changed: readonly string[];
}

/** The sessions' fingerprint by the per-id maps: a CSV export (ids may repeat), or a digest that differs (to name the rows). */
async function sessionsByLeaves(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  watermark: Date,
  batchSize: number,
  s4: DeltaSyncScope | undefined,
  lateEvents: ReadonlySet<string> | undefined,
): Promise<SessionsFingerprint> {
  const sessions = await legacySessionLeaves(legacy, tenantId, watermark, batchSize, s4, lateEvents);
  // Before the cutover the service has written no session: nothing is the service's yet.
  const since = s4 ? { updatedAt: sessions.updatedAt, changed: [] } : undefined;
  const target = await targetSessionLeaves(db, tenantId, sessions.deferred, batchSize, since);
  const changed = since?.changed ?? [];
  for (const id of changed) sessions.leaves.delete(id);
  // A session rejected for another row's externalId is no loss (sessions.reconciled counts it rejected); with it go its participants.
  for (const id of await clashRejectedIds(db, tenantId)) if (!target.has(id)) sessions.leaves.delete(id);
  const fingerprint = compare('sessions', sessions.leaves, target, changed);
  const loaded = new Set([...sessions.leaves.keys()].filter((id) => !sessions.scheduled.has(id)));
  return { fingerprint, loaded, excluded: new Set([...sessions.deferred, ...changed]), changed };
}

/** A table the streamed sums found equal: what narrowing costs a healthy table is the one comparison of the whole key range. */
function equalFingerprint(table: TableFingerprint['table'], streamed: StreamedTable): TableFingerprint {
  return {
    table,
    legacy: { digest: digestOfSum(streamed.legacy.sum), rows: streamed.legacy.rows },
    target: { digest: digestOfSum(streamed.target.sum), rows: streamed.target.rows },
    equal: true,
    differing: [],
    rangesCompared: 1,
    changedSinceMigration: streamed.changed.samples,
    ...(streamed.changed.rows > 0 ? { changedSinceMigrationRows: streamed.changed.rows } : {}),
  };
}

const agrees = (t: StreamedTable): boolean => t.complete && t.legacy.sum === t.target.sum;

/**
 * The three tables' fingerprints for a tenant S1 ran for (`watermark` = its as-of), over the sessions the
 * phases that ran are responsible for: S1's, and once S4's delta sync loaded sessions, S4's too (see
 * s4-scope.ts), so what a sync wrote and was later lost or changed fails here. On MySQL the sessions
 * and participants digests are first summed while streaming (memory: a batch of sessions and their events);
 * only a table whose sums differ, or whose target holds rows legacy does not, is compared again by the
 * per-id maps (the tenant's ids in memory) to name the differing rows. A `tally` is fed by the streamed
 * pass (it sees every legacy session row and asks the target for their ids anyway): ended once it was.
 */
export async function tenantFingerprints(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  watermark: Date,
  batchSize: number,
  tally?: SessionTally,
  countsOf?: TargetCountsOf,
): Promise<TableFingerprint[]> {
  const s4 = await deltaSyncScope(db, tenantId);
  const late = await lateEventSessions(db, legacy, tenantId, s4, batchSize);
  const streamed =
    legacy.kind === 'mysql' ? await streamedFingerprints(db, legacy, tenantId, watermark, batchSize, tally, countsOf, s4 ?? null, late ?? null) : undefined;
  let byLeaves: SessionsFingerprint | undefined;
  const sessionsByLeavesOnce = async () => (byLeaves ??= await sessionsByLeaves(db, legacy, tenantId, watermark, batchSize, s4, late));
  const sessions = streamed && agrees(streamed.sessions) ? equalFingerprint('sessions', streamed.sessions) : (await sessionsByLeavesOnce()).fingerprint;
  const configs = await configLeaves(db, legacy, tenantId);
  let participants: TableFingerprint;
  if (streamed && agrees(streamed.participants)) participants = equalFingerprint('participants', streamed.participants);
  else {
    const { loaded, excluded, changed } = await sessionsByLeavesOnce();
    const rejectedRecords = legacy.kind === 'csv' ? await rejectedRecordLocations(db, tenantId, 'AuditLog.csv') : new Set<string>();
    const legacyLeaves = await legacyParticipantLeaves(legacy, tenantId, loaded, batchSize, rejectedRecords);
    participants = withUnread(
      compare('participants', legacyLeaves.leaves, await targetParticipantLeaves(db, tenantId, excluded), changed),
      legacyLeaves.unread,
    );
  }
  return [sessions, compare('configs', configs.legacy, configs.target, configs.changed), participants];
}

/** What a differing key names: participants are keyed by their session's legacy id (their own key is PHI). */
const ENTITY = { sessions: 'VirtualSession', configs: 'TenantVirtualCareConfig', participants: 'VirtualSession' } as const;

/** The `fingerprints.<table>` checks: legacy ≡ target, else the legacy ids that differ as samples. */
export function fingerprintChecks(tenantId: string, fingerprints: readonly TableFingerprint[]): CheckResult[] {
  return fingerprints.map((f) =>
    fingerprintsMatch(tenantId, f.table, { legacy: f.legacy.digest, target: f.target.digest, legacyRows: f.legacy.rows, targetRows: f.target.rows }, [
      ...(f.unread ?? []),
      ...f.differing.map((id) => `${ENTITY[f.table]}:${id}`),
    ]),
  );
}
