import { bigserial, boolean, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { participantRole } from './enums';

/**
 * Migration state lives in its own schema so that `DROP SCHEMA vc_migration CASCADE` after decommission
 * removes it without touching a service table: nothing in `public` references anything here.
 */
export const vcMigration = pgSchema('vc_migration');

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export const stepStatus = vcMigration.enum('step_status', ['pending', 'running', 'done', 'failed']);
export const runStatus = vcMigration.enum('run_status', ['running', 'done', 'failed', 'interrupted']);

/** One invocation of a phase for a tenant. */
export const migrationRuns = vcMigration.table(
  'runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    phase: text('phase').notNull(),
    status: runStatus('status').notNull().default('running'),
    dryRun: boolean('dry_run').notNull().default(false),
    options: jsonb('options').$type<Record<string, unknown>>(),
    summary: jsonb('summary').$type<Record<string, unknown>>(),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
    /** Where the run's process is, and when it last said it was alive: `status` marks a silent one stale. */
    host: text('host'),
    pid: integer('pid'),
    heartbeatAt: ts('heartbeat_at'),
  },
  (t) => [index('runs_tenant_phase_idx').on(t.tenantId, t.phase, t.startedAt)],
);

/**
 * One tenant's verdict of one `migrator validate`: the S4 gate needs a passing one that started after the
 * tenant's last s1–s4 run (docs/design.md §11).
 */
export const migrationValidations = vcMigration.table(
  'validations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull(),
    /** pass, or fail (a check that failed or could not complete). */
    status: text('status').notNull(),
    checks: integer('checks').notNull(),
    failedChecks: text('failed_checks').array().notNull().default([]),
    asOf: ts('as_of').notNull(),
    startedAt: ts('started_at').notNull(),
    finishedAt: ts('finished_at').notNull().defaultNow(),
    host: text('host'),
  },
  (t) => [index('validations_tenant_idx').on(t.tenantId, t.startedAt)],
);

/**
 * Where a (tenant, phase, step) stands. Updated in the same transaction as each batch's writes,
 * so the cursor never runs ahead of (or behind) what was committed.
 */
export const stepCheckpoints = vcMigration.table(
  'step_checkpoints',
  {
    tenantId: text('tenant_id').notNull(),
    phase: text('phase').notNull(),
    stepId: text('step_id').notNull(),
    status: stepStatus('status').notNull().default('pending'),
    /** Step-defined resume position, e.g. `{ afterId: "1234" }` for keyset pagination. */
    cursor: jsonb('cursor').$type<Record<string, unknown>>(),
    read: integer('read').notNull().default(0),
    written: integer('written').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    deferred: integer('deferred').notNull().default(0),
    /** Warning counts by code, per source row. */
    warnings: jsonb('warnings').$type<Record<string, number>>().notNull().default({}),
    /** Step-specific facts later phases read (e.g. s1's as-of watermark). */
    facts: jsonb('facts').$type<Record<string, unknown>>(),
    runId: uuid('run_id'),
    error: text('error'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    durationMs: integer('duration_ms').notNull().default(0),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** '' for the step over the whole tenant; a key range's key for one work item of a split tenant (distributed plans). */
    keyRange: text('key_range').notNull().default(''),
  },
  (t) => [primaryKey({ name: 'step_checkpoints_pk', columns: [t.tenantId, t.phase, t.stepId, t.keyRange] })],
);

/** Rows that could not be loaded, with why and the raw legacy row, never silently dropped. */
export const migrationRejects = vcMigration.table(
  'rejects',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull(),
    phase: text('phase').notNull(),
    stepId: text('step_id').notNull(),
    /** Stable key of the source row within the step (legacy id, or table:id): re-runs cannot duplicate a reject. */
    legacyKey: text('legacy_key').notNull(),
    reason: text('reason').notNull(),
    detail: text('detail'),
    raw: jsonb('raw').$type<Record<string, unknown>>(),
    /** Where the row sits in its source when the legacy id cannot tell it (`VirtualSession.csv:12`): two rows, two rejects. */
    source: text('source'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('rejects_row_uq').on(t.tenantId, t.phase, t.stepId, t.legacyKey, t.reason), index('rejects_tenant_reason_idx').on(t.tenantId, t.reason)],
);

/** Legacy id → new id, per entity, so later phases and validation can join across the two worlds. */
export const idMap = vcMigration.table(
  'id_map',
  {
    tenantId: text('tenant_id').notNull(),
    entity: text('entity').notNull(),
    legacyId: text('legacy_id').notNull(),
    newId: text('new_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'id_map_pk', columns: [t.tenantId, t.entity, t.legacyId] })],
);

/** S4 routing changes: the snapshot taken before each apply is what rollback restores. */
export const cutovers = vcMigration.table(
  'cutovers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull(),
    action: text('action').notNull(),
    previousRouting: jsonb('previous_routing'),
    appliedRouting: jsonb('applied_routing'),
    watermark: ts('watermark'),
    forced: boolean('forced').notNull().default(false),
    reason: text('reason'),
    actor: text('actor'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('cutovers_tenant_idx').on(t.tenantId, t.createdAt)],
);

/**
 * The Encounters the migrator created in FHIR for migrated ended sessions that legacy left without one
 * (S2 2.4, S4 4.1). Kept apart from `virtual_sessions.encounter_ref` so that the parallel run can tell a
 * backfilled Encounter from one legacy recorded, and an operator can list what the migration created.
 */
export const encounterBackfills = vcMigration.table(
  'encounter_backfills',
  {
    sessionId: uuid('session_id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    legacyId: text('legacy_id').notNull(),
    encounterRef: text('encounter_ref').notNull(),
    /** False when the conditional create found an Encounter already there (an earlier, interrupted run). */
    created: boolean('created').notNull(),
    phase: text('phase').notNull(),
    backfilledAt: ts('backfilled_at').notNull().defaultNow(),
  },
  (t) => [index('encounter_backfills_tenant_idx').on(t.tenantId)],
);

/**
 * S4's participant refold, staged: each AuditLog batch's partial aggregates merge into one row per
 * (session, actor), so memory stays one batch whatever the tenant's history; the difference against
 * `session_participants` is then written in SQL and the tenant's rows here are deleted. `warnings` holds
 * one code per folded event and code, counted only for participants the refold changes.
 */
export const participantRefolds = vcMigration.table(
  'participant_refolds',
  {
    tenantId: text('tenant_id').notNull(),
    stepId: text('step_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    participantRef: text('participant_ref').notNull(),
    role: participantRole('role').notNull(),
    displayName: text('display_name'),
    firstJoinedAt: ts('first_joined_at'),
    lastLeftAt: ts('last_left_at'),
    /** The latest join, merged as `session_participants.last_joined_at` is (migration 0018). */
    lastJoinedAt: ts('last_joined_at'),
    /** The join the role came from, merged as `session_participants.role_joined_at` is (migration 0021). */
    roleJoinedAt: ts('role_joined_at'),
    joinCount: integer('join_count').notNull(),
    warnings: jsonb('warnings').$type<string[]>().notNull().default([]),
  },
  (t) => [primaryKey({ name: 'participant_refolds_pk', columns: [t.tenantId, t.stepId, t.sessionId, t.participantRef] })],
);

export type MigrationRun = typeof migrationRuns.$inferSelect;
export type StepCheckpoint = typeof stepCheckpoints.$inferSelect;
export type MigrationReject = typeof migrationRejects.$inferSelect;
export type Cutover = typeof cutovers.$inferSelect;
export type MigrationValidation = typeof migrationValidations.$inferSelect;
export type EncounterBackfill = typeof encounterBackfills.$inferSelect;

/** A distributed plan (`migrator enqueue`): its id is a hash of what it runs, so the same inputs are the same plan. */
export const migrationPlans = vcMigration.table('plans', {
  id: text('id').primaryKey(),
  phase: text('phase').notNull(),
  /** The run options every item runs with (as-of, batch size, reject rate), fixed when the plan is made. */
  options: jsonb('options').$type<Record<string, unknown>>().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** One work item of a plan: one tenant's phase. The source of truth for done; JetStream only carries the work. */
export const migrationPlanItems = vcMigration.table(
  'plan_items',
  {
    planId: text('plan_id')
      .notNull()
      .references(() => migrationPlans.id, { onDelete: 'cascade' }),
    itemKey: text('item_key').notNull(),
    tenantId: text('tenant_id').notNull(),
    subject: text('subject').notNull(),
    msgId: text('msg_id').notNull(),
    /** queued, running, done, failed. */
    status: text('status').notNull().default('queued'),
    /** Runs that ended in a step failure (not lock refusals or drains); past the worker's max, the item is terminated. */
    attempts: integer('attempts').notNull().default(0),
    workerHost: text('worker_host'),
    workerPid: integer('worker_pid'),
    heartbeatAt: ts('heartbeat_at'),
    error: text('error'),
    publishedAt: ts('published_at'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    /** How many times a worker ran the item to done; exactly-once means 1. */
    completions: integer('completions').notNull().default(0),
    /** Null: the tenant's whole phase. Else one key range of a split tenant's step (see `KeyRangeSpec`). */
    keyRange: jsonb('key_range').$type<Record<string, unknown>>(),
  },
  (t) => [primaryKey({ name: 'plan_items_pk', columns: [t.planId, t.itemKey] })],
);
