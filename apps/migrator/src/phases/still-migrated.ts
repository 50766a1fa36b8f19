/**
 * Whether a target row is still the migrator's (legacy's changes may replace it) or the service's (kept as it is):
 * the one rule S1 1.1 and 1.3, S4's delta sync and validate decide it by. Instants cannot decide it: legacy stamps
 * `updatedAt` with its own servers' clocks, which may run behind or be set back, so an edit legacy made after the
 * load can carry an earlier instant than the one loaded. Versions can: every write the service makes bumps
 * `version` (a transition, a join, PUT /config; the relay's encounter_ref follows the end that bumped it, and
 * test-connection writes only `last_connection_test`, which the migrator neither writes nor compares), and each
 * write of legacy's values records the version it left in `migrated_version`. Equal: nobody but the migrator wrote
 * the row since. A session the migrator wrote before the column existed (NULL, and not at version 1: see migration
 * 0023) is judged as before, by its updated_at against legacy's.
 */

/**
 * SQL: session row `t` is still the migrator's. `legacyUpdatedAt`, an SQL expression of legacy's updatedAt, judges
 * an unmarked row; without it (or when it is null) an unmarked row counts as the migrator's, as it always did.
 */
export function sessionStillMigrated(t: string, legacyUpdatedAt?: string): string {
  const unmarked = legacyUpdatedAt === undefined ? 'true' : `coalesce(${t}.updated_at <= ${legacyUpdatedAt}, true)`;
  return `(case when ${t}.migrated_version is null then ${unmarked} else ${t}.migrated_version = ${t}.version end)`;
}

/**
 * SQL: legacy's version `legacyUpdatedAt` is not the one the migrator last wrote into session row `t`: stamped later,
 * or earlier (legacy's clock set back). An unmarked row's loaded updatedAt is its updated_at, while it is the migrator's.
 */
export function legacyMoved(t: string, legacyUpdatedAt: string): string {
  return `coalesce(${t}.legacy_updated_at, ${t}.updated_at) is distinct from ${legacyUpdatedAt}`;
}

/**
 * SQL: the version bump of a migrator write, so that a service transition that read the row before it is refused. A
 * write of legacy's values (`written`, guarded by {@link sessionStillMigrated}) makes the row the migrator's; any other
 * keeps whose it was (an unmarked row stays unmarked).
 */
export function migratorBump(t: string, written = false): string {
  const next = `${t}.version + 1`;
  return `version = ${next}, migrated_version = ${written ? next : `case when ${t}.migrated_version = ${t}.version then ${next} else ${t}.migrated_version end`}`;
}

/** SQL: config row `t` is still the migrator's: S1 1.3 wrote it and no PUT /config since (a config the service created has none). */
export const configStillMigrated = (t: string): string => `coalesce(${t}.migrated_version = ${t}.version, false)`;

/** The columns of a stored session {@link ownerOf} reads. */
export interface OwnedRow {
  version: number;
  migrated_version: number | null;
  updated_at: Date | string;
  legacy_updated_at: Date | string | null;
}
export const OWNER_COLUMNS = 'version, migrated_version, updated_at, legacy_updated_at';

/**
 * {@link sessionStillMigrated} and {@link legacyMoved} of a stored row against legacy's updatedAt (ms), as the SQL decides
 * them: whether the row is the migrator's, and the legacy updatedAt it was loaded from (undefined: not known).
 */
export function ownerOf(row: OwnedRow, legacyAt: number): { migrators: boolean; loadedAt: number | undefined } {
  const updated = new Date(row.updated_at).getTime();
  const migrators = row.migrated_version === null ? updated <= legacyAt : row.migrated_version === row.version;
  const loaded =
    row.legacy_updated_at === null ? (row.migrated_version === null && migrators ? updated : undefined) : new Date(row.legacy_updated_at).getTime();
  return { migrators, loadedAt: loaded };
}
