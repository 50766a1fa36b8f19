/**
 * The step engine's vocabulary. The engine knows no phase: a phase is an ordered list of {@link Step}s,
 * and a step talks to the world only through the {@link StepContext} it is given.
 *
 * A step's contract, in one paragraph: read a bounded batch from where `checkpoint.cursor` says, map it,
 * then hand the engine the batch through `ctx.commit({ cursor, read, written, rejects, warnings, write })`.
 * The engine runs `write(tx)` and saves the checkpoint (cursor, counts, rejects) in ONE transaction, so a
 * process killed at any instant resumes exactly after the last committed batch. Under `--dry-run` the
 * same code runs inside one transaction the engine rolls back at the end, with outside clients that
 * record instead of send (engine/rehearsal.ts, engine/recorders.ts), so a step needs no dry-run branch.
 * Between batches a step checks `ctx.signal.aborted` (SIGINT/SIGTERM) and returns; the engine then
 * exits resumable.
 */
import type { RejectReason, WarningCode } from '@vc/domain/legacy';
import type { Database, DatabaseHandle } from '@vc/schema';
import type { Logger } from 'pino';
import type { LegacySource } from '../legacy/types';
import type { MigratorConfig, SettingRequirement } from '../config';
import type { CopyRows } from './copy-text';
import type { AccessPolicyClient, EventStream, FhirClient, JitsiProbe, KongGateway, Kms, Licensing } from './ports';

export type PhaseId = 's0' | 's1' | 's2' | 's3' | 's4';

/** Flags every phase command takes (docs/design.md §6). Parsed once by the command, frozen. */
export interface RunOptions {
  /** Run every step for real inside a transaction that is rolled back, outside writes recorded: nothing stays; report what would happen. */
  readonly dryRun: boolean;
  /** Legacy rows per batch (one transaction per batch). */
  readonly batchSize: number;
  /** Bound of concurrent outside calls (KMS, FHIR, access-policy) within a step. */
  readonly concurrency: number;
  /** Sessions with `coalesce(scheduledStart, createdAt) < asOf` are historical. Default: the run's start. */
  readonly asOf: Date;
  /** Reset this step (and the ones after it in the phase) to re-run from the beginning. */
  readonly restartStep?: string;
  /** A step whose rejected/read exceeds this fails (exit 1). Default 0.01. */
  readonly maxRejectRate: number;
  /** `--force --reason`: failing phase gates are run past and recorded in the run ledger (docs/design.md §11). */
  readonly override?: { readonly reason: string };
}

/** Where a step stands, as saved. `cursor` and `facts` are the step's own JSON; the engine never reads inside. */
export interface Checkpoint {
  readonly status: 'pending' | 'running' | 'done' | 'failed';
  readonly cursor: Cursor | null;
  readonly read: number;
  readonly written: number;
  readonly rejected: number;
  readonly deferred: number;
  readonly warnings: Readonly<Record<string, number>>;
  readonly facts: Readonly<Record<string, unknown>>;
}

export type Cursor = Record<string, unknown>;

/** A source row that could not be loaded. `legacyKey` is stable across runs, so re-runs never duplicate it. */
export interface RejectInput {
  legacyKey: string;
  /** Why, as the domain names it: one list of reason codes for every phase. */
  reason: RejectReason;
  /** Field and what was expected; never PHI. */
  detail?: string;
  /** The raw legacy row, kept in `vc_migration.rejects` only. */
  raw: Record<string, unknown>;
  /**
   * Where the row sits in its source when its key may not be unique there (a CSV export's `file:line`,
   * from `LegacyBatch.locations`): two source rows with one key and reason are then two rejects.
   */
  source?: string;
}

/** A database transaction the batch's writes and its checkpoint share. */
export interface Tx {
  /** Drizzle bound to this transaction. */
  readonly db: Database;
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Bulk insert, never one row per round trip: COPY on PostgreSQL, multi-row INSERT on PGlite.
   * Values: Date → timestamptz, objects → json, null → NULL; or the rows already written as COPY text
   * (`encodeRows`, engine/copy-text.ts), what a pipelined batch keeps until it commits. Returns the rows
   * inserted/updated. A string option is shorthand for `{ onConflict: string }`.
   */
  insertMany(table: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]> | CopyRows, options?: InsertOptions | string): Promise<number>;
}

export interface InsertOptions {
  /**
   * SQL after `ON CONFLICT`, e.g. `(tenant_id, legacy_id) do nothing`. On PostgreSQL a straight COPY is
   * tried first and, on a unique violation, redone through a staging table so the clause applies.
   * Qualify the target's columns with the table name in it (`session_participants.join_count`).
   */
  onConflict?: string;
  /** Conflicts are the norm (aggregating upserts): on PostgreSQL one `insert … select from unnest(…)` instead of COPY. */
  conflictsLikely?: boolean;
}

/** One batch handed to the engine. Counts are per source row. */
export interface Batch {
  /** Resume position after this batch. */
  cursor: Cursor;
  /** Source rows consumed by this batch (loaded + rejected + deferred + skipped). */
  read: number;
  /** Target rows this batch writes. */
  written: number;
  /** Source rows left for a later phase (s1: sessions not yet historical, for s4's delta sync). */
  deferred?: number;
  rejects?: readonly RejectInput[];
  /** Warning counts by code, one per source row and code. */
  warnings?: Readonly<Partial<Record<WarningCode, number>>>;
  /** Merged (shallowly) into the checkpoint's facts. */
  facts?: Record<string, unknown>;
  /**
   * The batch's writes; run inside the checkpoint's transaction (under --dry-run, a savepoint of the rolled-back one).
   * It may return what it decided only there (a settle that must see other writers' commits under a lock):
   * its rejects and count changes join the batch's before the checkpoint is written.
   */
  write?: (tx: Tx) => Promise<void | BatchAdjustment>;
  /** Rejects already stored under this step by its key-range items, counted into this checkpoint now (a split tenant's merge). */
  rejectedBefore?: number;
}

/** What a batch's `write` decided inside the transaction: more rejects, and changes to its written and warning counts. */
export interface BatchAdjustment {
  rejects?: readonly RejectInput[];
  written?: number;
  warnings?: Readonly<Record<string, number>>;
}

/**
 * One range of a split tenant's legacy keys: a work item of a distributed plan (`enqueue --split-larger-than`).
 * The step reads only keys in (`after`, `until`] of its table and keeps its checkpoint under `key`.
 */
export interface KeyRange {
  /** `<plan id>/<step>/<index as 4 digits>`: a step's ranges sort in key order. */
  readonly key: string;
  /** Exclusive lower bound; null from the tenant's first key. */
  readonly after: string | null;
  /** Inclusive upper bound; null to the tenant's last key (rows added after the plan was made land here). */
  readonly until: string | null;
}

/** A split tenant's whole-tenant run: the ranges, by step id, whose work it takes over (their checkpoints, 1.4's staged fold). */
export interface SplitTenant {
  readonly ranges: Readonly<Record<string, readonly KeyRange[]>>;
}

/** Lazily created clients: a step asks for what it needs; the engine closes what was opened. */
export interface Services {
  /** The legacy digital-communication source (MySQL or CSV export, from config). */
  legacy(): Promise<LegacySource>;
  /** The legacy patient-portal source (`VC_PORTAL_DATABASE_URL`, or the same CSV export). */
  portal(): Promise<LegacySource>;
  /** The target KMS (`VC_KMS`). */
  kms(): Promise<Kms>;
  /** The KMS the legacy credentials were made with (`VC_LEGACY_KMS`), when set. */
  legacyKms(): Promise<Kms | undefined>;
  /** JetStream (`VC_NATS_URL`), when set. */
  events(): Promise<EventStream | undefined>;
  fhir(): Promise<FhirClient>;
  accessPolicy(): Promise<AccessPolicyClient>;
  jitsi(): Promise<JitsiProbe>;
  kong(): Promise<KongGateway>;
  licensing(): Promise<Licensing>;
}

export interface StepContext {
  /** The tenant this step runs for; `*` for phase-global steps (s0). */
  readonly tenantId: string;
  readonly phase: PhaseId;
  readonly stepId: string;
  readonly runId: string;
  readonly options: RunOptions;
  readonly config: MigratorConfig;
  /** The target database; write through `commit`'s `write(tx)` so writes and checkpoint commit together. */
  readonly db: DatabaseHandle;
  readonly services: Services;
  /** Reads outside the batch transaction (lookups of committed rows). */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** What the phase's `prepare` returned (s0: the database it created and the migrations it applied). */
  readonly prepared: Readonly<Record<string, unknown>>;
  /** Logs to stderr; never log PHI or secrets. */
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: finish the current batch, commit it, return. */
  readonly signal: AbortSignal;
  /** Commits one batch: its writes, rejects, counts and cursor in one transaction. */
  commit(batch: Batch): Promise<void>;
  /** Progress for the spinner/log line: rows done so far in this run, and the total when known. */
  progress(done: number, total?: number): void;
  /** Checkpoints of earlier steps/phases of this tenant (e.g. s4 reads s1's as-of watermark). */
  checkpointOf(phase: PhaseId, stepId: string): Promise<Checkpoint | undefined>;
  /** Set when this run is one key range of a split tenant's step: read only these legacy keys. */
  readonly range?: KeyRange;
  /** Set on a split tenant's whole-tenant run: the key ranges that did its steps' reading. */
  readonly split?: SplitTenant;
}

/** What a step returns when it has nothing more to do. `facts` are merged into its checkpoint. */
export interface StepResult {
  facts?: Record<string, unknown>;
}

/**
 * One row of the plan. `run` is called with the saved checkpoint and must resume from its cursor; it
 * returns when the step is complete (or, after `ctx.signal` aborted, when the current batch is committed).
 * A thrown error fails the step (state kept, exit 1); the next run resumes from the last commit.
 */
export interface Step {
  readonly id: string;
  readonly title: string;
  /** `tenant` (default): once per tenant. `global`: once per phase run, with tenantId `*` (s0). */
  readonly scope?: 'tenant' | 'global';
  /** Overrides `--max-reject-rate` for this step (1.3: one row per tenant, gated by validation instead). */
  readonly maxRejectRate?: number;
  /**
   * Runs again even when done (from an empty checkpoint), because its effect is an idempotent ensure (s0: stream,
   * config checks) or carries what its source changed since (s3: consents revoked in legacy after the import).
   * The fresh pass forgets the step's rejects with its checkpoint reset (one transaction): it ends with exactly
   * the rejects it finds itself.
   */
  readonly rerunWhenDone?: boolean;
  run(ctx: StepContext, checkpoint: Checkpoint): Promise<StepResult | void>;
}

/** A phase: its id and ordered steps. */
export interface Phase {
  readonly id: PhaseId;
  readonly title: string;
  readonly steps: readonly Step[];
  /** Phase-global (s0): runs once as tenant `*`; `--tenant`/`--all-tenants` are not taken. */
  readonly global?: boolean;
  /**
   * Runs before the engine touches the database (s0 creates it and applies the migrations the engine's
   * own tables need). `db` is opened but unused so far (a PostgreSQL pool connects lazily). Its result is `ctx.prepared` for the phase's steps.
   */
  prepare?(config: MigratorConfig, db: DatabaseHandle): Promise<Record<string, unknown>>;
  /** Extra flags of `migrator phase <id>`, passed through on RunOptions by their camelCase name (s2's `--window`). */
  readonly flags?: readonly PhaseFlag[];
  /**
   * The settings its steps read (a legacy source, VC_ACCESS_POLICY_URL, …), dry run or not. The command
   * checks them before it opens anything: a run never fails half-way for want of a variable.
   */
  readonly requires?: readonly SettingRequirement[];
  /**
   * What `migrator phase <id> <action>` runs instead of the steps (s4's `decommission`): named here so
   * the command layer knows no phase by name.
   */
  readonly actions?: Readonly<Record<string, PhaseAction>>;
  /**
   * The as-of an earlier run of the phase fixed for the tenant and kept in a checkpoint (S1's 1.1), if any;
   * `range` is a key range's checkpoint key. A resumed run's steps use it whatever `--as-of` says, and the
   * run's summary and run row report it: the as-of the rows were really classified at.
   */
  storedAsOf?(db: Database, tenantId: string, range?: string): Promise<Date | undefined>;
}

/** A one-off action of a phase, with the command's raw flags (`--tenant`, `--force`, `--reason`, `--dry-run`, `--json`). */
export interface PhaseAction {
  readonly description: string;
  run(flags: PhaseActionFlags): Promise<void>;
}

export interface PhaseActionFlags {
  tenant?: string;
  force?: boolean;
  reason?: string;
  json?: boolean;
  dryRun?: boolean;
}

/** A flag only one phase takes. */
export interface PhaseFlag {
  readonly flags: string;
  readonly description: string;
  readonly defaultValue?: string;
  /** Checks a given value at start; throws an Error naming the flag and the form expected (exit 2). */
  readonly check?: (value: string) => void;
  /** Taken only with this action (`phase s4 decommission --force`); given without it, a usage error. */
  readonly action?: string;
}

/** Outcome of one step in one run, as reported by `--json` (docs/design.md §8). */
export interface StepReport {
  id: string;
  tenant: string;
  status: 'done' | 'failed' | 'skipped' | 'interrupted' | 'pending';
  read: number;
  written: number;
  rejected: number;
  deferred: number;
  warnings: number;
  durationMs: number;
  /** The step's own findings (S0 actions, S3 consent tallies, S4 Kong plan, 1.2 backends…): counts and ids, never PHI. */
  facts: Readonly<Record<string, unknown>>;
  error?: string;
}
