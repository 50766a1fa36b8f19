import type { RecordFault } from './record-faults';

/**
 * Reading the legacy databases (docs/design.md §4), whatever they are stored in: MySQL/MariaDB, or a CSV export.
 * Rows come as text, exactly as a CSV export would carry them (NULL as `null`), so the pure mapping in
 * `@vc/domain/legacy` sees one shape from both sources.
 */
export type LegacyTable = 'VirtualSession' | 'AuditLog' | 'TenantVirtualCareConfig' | 'BillingEvent' | 'telehealth_consent';

/** A legacy row: column name (as in the legacy DDL) → its text value, `null` for SQL NULL / `\N`. */
export type LegacyRow = Readonly<Record<string, string | null>>;

export interface LegacyBatch {
  rows: LegacyRow[];
  /**
   * Opaque resume position after the last row of this batch: the last primary key on MySQL (keyset
   * pagination), the record ordinal in a CSV file. Pass it back as `after` to continue.
   */
  position: string;
  /** Per row: a key stable across runs for the same source (the CSV record ordinal, or the primary key). */
  ordinals: string[];
  /**
   * Per row, where it sits in a source whose ids may repeat: `VirtualSession.csv:12` (file and line) for
   * a CSV export; absent on MySQL, where the primary key says it. Rejects carry it as their `source`.
   */
  locations?: string[];
  /**
   * Records of this stretch of the source that are not rows (a CSV record with the wrong field count, an
   * unclosed quote, bytes that are not UTF-8): each is one reject of the step reading it (`faultRejects`),
   * counted as read. `position` is past them too.
   */
  faults?: RecordFault[];
}

export interface ReadOptions {
  /**
   * Only this tenant's rows, the tenant as legacy's collation tells tenants apart: `'ACME'` and `'acme '` are rows
   * of `acme` (MariaDB's `=`; a CSV export compares lower-cased with trailing spaces cut, as `tenants` groups).
   * Whatever their spelling, they are the run's tenant's rows and are written under its id.
   */
  tenantId?: string;
  /** Resume after this position (from a previous batch); from the start when absent. */
  after?: string | null;
  /**
   * Stop after this primary key, inclusive (one key range of a split tenant). MySQL only: a CSV export
   * has no key order to cut, so its reader refuses it.
   */
  until?: string | null;
  batchSize: number;
  /**
   * Only rows whose column equals one of the values as legacy values are compared (docs/design.md §5):
   * trimmed and case-insensitively, as `normalise` compares. A source may hand over more (MariaDB's collation
   * also equates accented letters), never fewer: the domain parser decides, so every row it would accept
   * reaches it from a CSV export and from MariaDB alike.
   *
   * `collated` narrows a filter to what the legacy collation's `in` finds (case-insensitive, trailing spaces
   * ignored), which MariaDB serves from an index; a CSV export compares lower-cased with trailing spaces cut.
   * The rows that meet the filter only once trimmed (a leading space, a trailing tab or line break) are then
   * left out: the caller reads them with `apart.uncollated`.
   */
  where?: ReadonlyArray<{ column: string; in: readonly string[]; collated?: boolean }>;
  /**
   * Only the rows an index-served read (validate's streamed pass) leaves to be read apart, those of `where`
   * (compared as the domain compares) whose value of `notDigits` is not ASCII digits alone, byte for byte
   * (NULL and '' included: the AuditLog rows whose entityId does not name a legacy id as it is), or whose
   * value of an `uncollated` column meets its `where` filter but not as a `collated` filter compares.
   */
  apart?: { notDigits?: string; uncollated?: readonly string[] };
  /**
   * Only these columns of each row, and the key (MySQL selects them; a CSV export's rows come whole): for a
   * reader that needs a few narrow columns of a wide table.
   */
  columns?: readonly string[];
  /**
   * MySQL: read by this index (`FORCE INDEX`) where the planner would walk the tenant's key order for a
   * filter another index serves (a CSV export ignores it). Legacy index names are the contract's (fixtures/legacy/mysql).
   */
  index?: string;
  /**
   * MySQL: every matching row in one statement, in no particular order (no key order, no limit), as one batch:
   * for a filter whose rows the caller holds at once anyway and orders itself. Sorting by the key made MariaDB
   * read each row twice (a sort by row id, since the AuditLog rows carry a TEXT column) for a third more time.
   * A CSV export reads in file order as always.
   */
  unordered?: boolean;
  signal?: AbortSignal;
  /**
   * Fetch the next batch while the consumer handles this one (legacy/read-ahead.ts; the default). S1 1.1 passes
   * `false`: its commits are pipelined (engine/pipeline.ts), so its next read overlaps the last batch's commit
   * anyway, and a read-ahead only adds a third batch in memory (~6 MiB of legacy sessions at 10,000 a batch:
   * the one read ahead, the one mapped and waiting, the one committing) without making 1.1 faster.
   */
  readAhead?: boolean;
}

export interface LegacySource {
  readonly kind: 'mysql' | 'csv';
  /** For logs and reports; never credentials. */
  readonly description: string;
  /**
   * The tenants of `table`, sorted: one id per tenant as legacy's collation groups spellings (see `tenantId`),
   * spelled as the tenant's row with the least primary key spells it (a CSV export: its first row in the file),
   * trailing spaces cut.
   */
  tenants(table: LegacyTable): Promise<string[]>;
  /** How many rows `read` would visit (for progress ETA), when cheap to know. */
  count(table: LegacyTable, options: Pick<ReadOptions, 'tenantId' | 'where'>): Promise<number | undefined>;
  /**
   * Bounded batches in primary-key order (MySQL) or file order (CSV). Memory holds about one batch
   * ahead: the next batch is fetched while the consumer handles this one, unless `readAhead` is false.
   */
  read(table: LegacyTable, options: ReadOptions): AsyncIterable<LegacyBatch>;
  /** AuditLog participant history grouped in the source (MariaDB only; absent when the migrator must fold). */
  readonly participants?: ParticipantPushdown;
  /** What splitting a tenant into key ranges needs (MySQL only: a CSV export has no key order to cut). */
  readonly ranges?: KeyRangeReader;
  close(): Promise<void>;
}

/**
 * The participant events of one (session, actor) within a window, grouped by the legacy database itself:
 * counts, the earliest join and the latest leave, and the lead row (the earliest join, else the first
 * event) whose payload and display name decide role and name.
 */
export interface ParticipantGroup {
  entityId: string;
  actorRef: string;
  leadId: string;
  leadDisplay: string | null;
  leadPayload: string | null;
  /** Source rows folded into this group. */
  events: number;
  joins: number;
  firstJoinedAt: string | null;
  lastLeftAt: string | null;
  lastJoinedAt: string | null;
  /** The earliest join (by time, then id) whose payload names a known role, its payload and time; null when none does. */
  roleLeadId: string | null;
  roleLeadPayload: string | null;
  roleJoinedAt: string | null;
}

/** One window of AuditLog primary keys (`after` exclusive, `position` inclusive): its groups, and its other rows whole. */
export interface ParticipantWindow {
  after: string | null;
  /** Resume position after this window (as `LegacyBatch.position`). */
  position: string;
  groups: ParticipantGroup[];
  /** Participant rows the database did not group (anything not plain): the per-row path. */
  rows: LegacyRow[];
  ordinals: string[];
}

/** Key ranges of a tenant's table, and rows by key: for `enqueue --split-larger-than` and S1 on a split tenant. */
export interface KeyRangeReader {
  /** How many rows of the tenant the table holds. */
  count(table: LegacyTable, tenantId: string): Promise<number>;
  /** The primary key of every `every`-th row of the tenant, in key order: the inclusive ends of all ranges but the last. */
  cuts(table: LegacyTable, tenantId: string, every: number): Promise<string[]>;
  /** The tenant's rows with these primary keys, as `read` returns them. */
  byKeys(table: LegacyTable, tenantId: string, keys: readonly string[]): Promise<LegacyRow[]>;
}

/** A source that can fold participant events itself (MariaDB); the CSV export folds in the migrator. */
export interface ParticipantPushdown {
  /** Windows of `batchSize` audit rows of the tenant, in key order, resuming after `options.after`. */
  windows(options: ReadOptions): AsyncIterable<ParticipantWindow>;
  /** The grouped rows of `entityIds` within `window`, whole (an orphan's rejects keep each raw row). */
  plainRows(options: ReadOptions, window: ParticipantWindow, entityIds: readonly string[]): Promise<LegacyRow[]>;
}
