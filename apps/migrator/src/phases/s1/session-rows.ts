import type { MappedSession, WarningCode } from '@vc/domain/legacy';
import { copyLine, encodeLines, encodeRows, type CopyRows } from '../../engine/copy-text';
import type { BatchAdjustment, Tx } from '../../engine/types';
import { sessionId } from './ids';
import { sessionStillMigrated } from '../still-migrated';

/** A session 1.1 loads: the mapping, its new id, where it came from, and the warnings it carries. */
export interface SessionLoad {
  id: string;
  session: MappedSession;
  /** Source record key (CSV ordinal or MySQL id): tells a re-read of the same row from a duplicate. */
  sourceRecord: string;
  warnings: WarningCode[];
}

export function sessionLoad(session: MappedSession, sourceRecord: string, warnings: WarningCode[]): SessionLoad {
  return { id: sessionId(session.tenantId, session.legacyId, session.externalId), session, sourceRecord, warnings };
}

export const SESSION_COLUMNS = [
  'id',
  'tenant_id',
  'legacy_id',
  'patient_ref',
  'practitioner_ref',
  'scheduled_start',
  'scheduled_end',
  'started_at',
  'ended_at',
  'status',
  'cancel_reason',
  'video_backend',
  'room_name',
  'encounter_ref',
  'migrated_from',
  'created_at',
  'updated_at',
  'migrated_version',
  'legacy_updated_at',
] as const;

/**
 * Re-running a step (`--restart-step`) or a newer duplicate replaces the mapped values, never the id, with two
 * exceptions. An Encounter S2 2.4 backfilled (or the service recorded) stays while legacy still has none: legacy's
 * NULL would drop the link the ended session's Encounter is found by (S4's delta sync merges it the same way). And
 * a session the service wrote since the migrator did (see still-migrated.ts: `--restart-step 1.1` with a later as-of
 * after the cutover) is the service's and is left as it is, as S4's delta sync leaves it; {@link writeSessions}
 * counts it. The rewrite leaves the version as it is and records it as the migrator's.
 */
const assign = (c: string) =>
  c === 'encounter_ref'
    ? 'encounter_ref = coalesce(excluded.encounter_ref, virtual_sessions.encounter_ref)'
    : c === 'migrated_version'
      ? 'migrated_version = virtual_sessions.version'
      : `${c} = excluded.${c}`;
const UPSERT = `(tenant_id, legacy_id) do update set ${SESSION_COLUMNS.filter((c) => c !== 'id' && c !== 'tenant_id' && c !== 'legacy_id')
  .map(assign)
  .join(', ')} where ${sessionStillMigrated('virtual_sessions', 'excluded.updated_at')}`;

/** The mapped fields a `virtual_sessions` row is made of (S1's session, or S4's that may be `scheduled`). */
export type SessionFields = Omit<MappedSession, 'status'> & { status: string };

/**
 * The `virtual_sessions` values of a mapped session, in {@link SESSION_COLUMNS} order. S1 and S4's delta
 * sync write the same row for the same legacy row (migrated_from included: its `endInferred` is what 1.5
 * and S4 re-infer the end of), and mark it theirs (still-migrated.ts).
 */
export function sessionRow(id: string, s: SessionFields, sourceRecord: string, warnings: readonly WarningCode[]): unknown[] {
  const migratedFrom = { ...s.migratedFrom, sourceRecord, ...(s.endInferred ? { endInferred: true } : {}), ...(warnings.length ? { warnings } : {}) };
  return [
    id,
    s.tenantId,
    s.legacyId,
    s.patientRef,
    s.practitionerRef,
    s.scheduledStart,
    s.scheduledEnd,
    s.startedAt,
    s.endedAt,
    s.status,
    s.cancelReason,
    s.videoBackend,
    s.roomName,
    s.encounterRef,
    migratedFrom,
    s.createdAt,
    s.updatedAt,
    // A new row's version; an upsert of a stored row records that row's version instead (see `assign`).
    1,
    s.updatedAt,
  ];
}

/**
 * A session a batch loads, as the batch keeps it while the batch before it commits: its `virtual_sessions` row
 * already a COPY line (~0.5 KiB), not the mapped session (~1 KiB with its Dates) it was made from.
 */
export interface PendingLoad {
  id: string;
  legacyId: string;
  tenantId: string;
  sourceRecord: string;
  warnings: WarningCode[];
  /** The session's updatedAt (ms): the tie-break with a twin in a later batch. */
  updatedAt: number;
  /** Its {@link sessionRow} as one COPY line. */
  line: string;
}

export function pendingLoad(load: SessionLoad): PendingLoad {
  const { id, session, sourceRecord, warnings } = load;
  return {
    id,
    legacyId: session.legacyId,
    tenantId: session.tenantId,
    sourceRecord,
    warnings,
    updatedAt: session.updatedAt.getTime(),
    line: copyLine(sessionRow(id, session, sourceRecord, warnings)),
  };
}

/** A batch's `virtual_sessions` and id-map rows, already COPY text: what the batch keeps until it commits. */
export interface SessionWrites {
  /** Undefined once sent ({@link writeSessions}). */
  sessions: CopyRows | undefined;
  idMap: CopyRows;
}

/**
 * Sessions in ascending id order, the order every writer of `virtual_sessions` sends its rows in. A session id is
 * global (an externalId two tenants share is one id), and an insert of an id another open transaction has inserted
 * waits for that transaction: two writers sending shared ids in opposite orders (tenant A's batch X then Y, tenant B's
 * Y then X, side by side under `--all-tenants` or two workers) would each wait for the other, and PostgreSQL would
 * end one batch with a deadlock (40P01), failing its step. In one order the second writer only waits, then meets the
 * committed id as a clash it settles (a `duplicate_external_id` reject).
 */
export function inIdOrder<T extends { id: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function encodeSessions(given: readonly PendingLoad[]): SessionWrites {
  const loads = inIdOrder(given);
  return {
    sessions: encodeLines(loads.map((l) => l.line)),
    idMap: encodeRows(loads.map((l) => [l.tenantId, 'VirtualSession', l.legacyId, l.id])),
  };
}

/**
 * Writes a batch of sessions and their id-map rows: two bulk statements. The sessions' lines are let go as soon as
 * their COPY is done, and `sent` is called then: the rest of the transaction does not need them (a batch's write
 * runs once; a failed transaction fails the step, and a resume reads the batch again).
 */
export async function writeSessions(tx: Tx, writes: SessionWrites, sent: () => void = () => undefined): Promise<BatchAdjustment | undefined> {
  const lines = writes.sessions?.lines.length ?? 0;
  // An upsert's row count leaves out the rows its `where` kept: those are the sessions the service changed.
  const written = lines > 0 ? await tx.insertMany('virtual_sessions', SESSION_COLUMNS, writes.sessions!, { onConflict: UPSERT }) : 0;
  writes.sessions = undefined;
  sent();
  if (writes.idMap.lines.length > 0)
    await tx.insertMany('vc_migration.id_map', ['tenant_id', 'entity', 'legacy_id', 'new_id'], writes.idMap, {
      onConflict: '(tenant_id, entity, legacy_id) do nothing',
    });
  return keptByService(lines - written);
}

/** The counts of sessions a write left as the service has them: not written, and warned (never silent). */
function keptByService(kept: number): BatchAdjustment | undefined {
  return kept > 0 ? { written: -kept, warnings: { session_changed_by_service: kept } } : undefined;
}

/** Two adjustments of one batch as one (a write that settled externalIds, then wrote). */
export function addAdjustments(a: BatchAdjustment | void, b: BatchAdjustment | void): BatchAdjustment | undefined {
  if (!a || !b) return a ?? b ?? undefined;
  const warnings: Record<string, number> = { ...a.warnings };
  for (const [code, n] of Object.entries(b.warnings ?? {})) warnings[code] = (warnings[code] ?? 0) + n;
  return { rejects: [...(a.rejects ?? []), ...(b.rejects ?? [])], written: (a.written ?? 0) + (b.written ?? 0), warnings };
}

/** The moment a batch's sessions are sent (`sent`), and the callback to give {@link writeSessions} for it. */
export function sentSignal(): { sent: Promise<void>; markSent: () => void } {
  let markSent: () => void = () => undefined;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  return { sent, markSent };
}

/** A loaded session as 1.1's duplicate check reads it back. */
export interface LoadedSession {
  legacy_id: string;
  updated_at: Date | string;
  migrated_from: Record<string, unknown> | null;
  [column: string]: unknown;
}

/** Loaded sessions of the tenant among these legacy ids (committed by earlier batches or runs). */
export async function loadedSessions(
  query: <T>(text: string, params?: readonly unknown[]) => Promise<T[]>,
  tenantId: string,
  legacyIds: readonly string[],
): Promise<LoadedSession[]> {
  if (legacyIds.length === 0) return [];
  return query<LoadedSession>('select * from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[])', [tenantId, legacyIds]);
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

/**
 * The legacy-shaped row of a session that a later duplicate displaced, for its reject: rebuilt from the
 * loaded columns and the raw values kept in migrated_from (the original text is not kept elsewhere).
 */
export function reconstructedRaw(row: LoadedSession): Record<string, unknown> {
  const from = row.migrated_from ?? {};
  return {
    id: row.legacy_id,
    tenantId: row.tenant_id,
    patientRef: row.patient_ref,
    practitionerRef: row.practitioner_ref,
    scheduledStart: from.scheduledStart ?? iso(row.scheduled_start),
    scheduledEnd: from.scheduledEnd ?? iso(row.scheduled_end),
    startedAt: from.startedAt ?? iso(row.started_at),
    endedAt: from.endedAt ?? iso(row.ended_at),
    status: from.status ?? row.status,
    videoBackend: 'videoBackend' in from ? from.videoBackend : row.video_backend,
    roomName: row.room_name,
    cancelReason: row.cancel_reason,
    encounterRef: row.encounter_ref,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    reconstructed: true,
  };
}
