import { randomBytes } from 'node:crypto';
import {
  type NewVirtualSession,
  sessionAuditEvents,
  sessionParticipants,
  type ParticipantRole,
  type SessionParticipant,
  type SessionStatus,
  type VirtualSession,
  virtualSessions,
} from '@vc/schema';
import { and, asc, desc, eq, gte, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../db';
import { sessionView } from './view';

/** SQL of sessions, participants and their audit trail. Every query is scoped by tenant. */

export async function insertSession(db: Executor, row: NewVirtualSession): Promise<VirtualSession> {
  const [created] = await db.insert(virtualSessions).values(row).returning();
  return created!;
}

const byTenantAndId = and(eq(virtualSessions.tenantId, sql.placeholder('tenantId')), eq(virtualSessions.id, sql.placeholder('id')));

/**
 * The hot reads, built once per database handle and prepared: drizzle does not rebuild their SQL per
 * request, and on PostgreSQL each pooled connection parses and plans them once (named statements).
 */
function prepareReads(db: Executor) {
  return {
    session: db.select().from(virtualSessions).where(byTenantAndId).limit(1).prepare('vc_find_session'),
    sessionForJoin: db
      .select({ session: virtualSessions, pseudonym: sessionParticipants.pseudonym })
      .from(virtualSessions)
      .leftJoin(
        sessionParticipants,
        and(eq(sessionParticipants.sessionId, virtualSessions.id), eq(sessionParticipants.participantRef, sql.placeholder('participantRef'))),
      )
      .where(byTenantAndId)
      .limit(1)
      .prepare('vc_find_session_for_join'),
  };
}

const prepared = new WeakMap<Executor, ReturnType<typeof prepareReads>>();

function reads(db: Executor): ReturnType<typeof prepareReads> {
  let found = prepared.get(db);
  if (!found) prepared.set(db, (found = prepareReads(db)));
  return found;
}

export async function findSession(db: Executor, tenantId: string, id: string, options: { lock?: boolean } = {}): Promise<VirtualSession | undefined> {
  if (!options.lock) return (await reads(db).session.execute({ tenantId, id }))[0];
  const [row] = await db
    .select()
    .from(virtualSessions)
    .where(and(eq(virtualSessions.tenantId, tenantId), eq(virtualSessions.id, id)))
    .limit(1)
    .for('update');
  return row;
}

/** A session and the pseudonym its participant `participantRef` already has (null: none yet), in one read. */
export async function findSessionForJoin(
  db: Executor,
  tenantId: string,
  id: string,
  participantRef: string,
  options: { lock?: boolean } = {},
): Promise<{ session: VirtualSession; pseudonym: string | null } | undefined> {
  if (!options.lock) return (await reads(db).sessionForJoin.execute({ tenantId, id, participantRef }))[0];
  const [row] = await db
    .select({ session: virtualSessions, pseudonym: sessionParticipants.pseudonym })
    .from(virtualSessions)
    .leftJoin(sessionParticipants, and(eq(sessionParticipants.sessionId, virtualSessions.id), eq(sessionParticipants.participantRef, participantRef)))
    .where(and(eq(virtualSessions.tenantId, tenantId), eq(virtualSessions.id, id)))
    .limit(1)
    .for('update', { of: virtualSessions });
  return row;
}

export interface SessionFilters {
  status?: SessionStatus;
  from?: Date;
  to?: Date;
  patientRef?: string;
  practitionerRef?: string;
  /** Forced for patients: they see only sessions they are the patient of. */
  onlyPatientRef?: string;
}

export interface PageCursor {
  createdAt: Date;
  id: string;
}

/** Newest first, keyset-paginated on (created_at, id) so pages stay stable while rows are added. */
export async function listSessions(
  db: Executor,
  tenantId: string,
  filters: SessionFilters,
  after: PageCursor | undefined,
  limit: number,
): Promise<VirtualSession[]> {
  const where: SQL[] = [eq(virtualSessions.tenantId, tenantId)];
  if (filters.status) where.push(eq(virtualSessions.status, filters.status));
  if (filters.from) where.push(gte(virtualSessions.scheduledStart, filters.from));
  if (filters.to) where.push(lt(virtualSessions.scheduledStart, filters.to));
  if (filters.patientRef) where.push(eq(virtualSessions.patientRef, filters.patientRef));
  if (filters.practitionerRef) where.push(eq(virtualSessions.practitionerRef, filters.practitionerRef));
  if (filters.onlyPatientRef) where.push(eq(virtualSessions.patientRef, filters.onlyPatientRef));
  if (after) {
    where.push(or(lt(virtualSessions.createdAt, after.createdAt), and(eq(virtualSessions.createdAt, after.createdAt), lt(virtualSessions.id, after.id)))!);
  }
  return db
    .select()
    .from(virtualSessions)
    .where(and(...where))
    .orderBy(desc(virtualSessions.createdAt), desc(virtualSessions.id))
    .limit(limit);
}

export type SessionChanges = Partial<Pick<VirtualSession, 'status' | 'startedAt' | 'endedAt' | 'cancelReason'>>;

/**
 * The optimistic write: `UPDATE … WHERE version = seen`. Returns undefined when someone else moved the
 * session first, which the caller turns into a 409.
 */
export async function updateSessionVersioned(db: Executor, session: VirtualSession, changes: SessionChanges, now: Date): Promise<VirtualSession | undefined> {
  const [row] = await db
    .update(virtualSessions)
    .set({ ...changes, version: sql`${virtualSessions.version} + 1`, updatedAt: now })
    .where(and(eq(virtualSessions.tenantId, session.tenantId), eq(virtualSessions.id, session.id), eq(virtualSessions.version, session.version)))
    .returning();
  return row;
}

/**
 * The relay's write of the Encounter an end enqueued. No version bump: the end that enqueued it, in the same
 * transaction, bumped the version, so the session is already the service's and no longer the migrator's.
 */
export async function setEncounterRef(db: Executor, tenantId: string, sessionId: string, encounterRef: string, now: Date): Promise<void> {
  await db
    .update(virtualSessions)
    .set({ encounterRef, updatedAt: now })
    .where(and(eq(virtualSessions.tenantId, tenantId), eq(virtualSessions.id, sessionId)));
}

export interface JoinRecord {
  session: VirtualSession;
  participantRef: string;
  role: ParticipantRole;
  displayName: string | null;
  now: Date;
}

/** A participant's Jitsi `context.user.id`: random, so it says nothing about who they are. */
export function newPseudonym(): string {
  return `p-${randomBytes(16).toString('base64url')}`;
}

/** First join inserts the row; later joins count up, keep the first join time and move the last one. */
export async function recordJoin(db: Executor, join: JoinRecord): Promise<SessionParticipant> {
  const [row] = await db
    .insert(sessionParticipants)
    .values({
      sessionId: join.session.id,
      tenantId: join.session.tenantId,
      participantRef: join.participantRef,
      role: join.role,
      displayName: join.displayName,
      firstJoinedAt: join.now,
      lastJoinedAt: join.now,
      joinCount: 1,
      source: 'live',
      pseudonym: newPseudonym(),
    })
    .onConflictDoUpdate({
      target: [sessionParticipants.sessionId, sessionParticipants.participantRef],
      set: {
        joinCount: sql`${sessionParticipants.joinCount} + 1`,
        firstJoinedAt: sql`coalesce(${sessionParticipants.firstJoinedAt}, excluded.first_joined_at)`,
        // A rejoin after a leave: the Encounter then ends this participant at the session's end, not at the leave.
        lastJoinedAt: sql`excluded.last_joined_at`,
        displayName: sql`coalesce(excluded.display_name, ${sessionParticipants.displayName})`,
        // One pseudonym per participant and session: a rejoin keeps it.
        pseudonym: sql`coalesce(${sessionParticipants.pseudonym}, excluded.pseudonym)`,
      },
    })
    .returning();
  return row!;
}

/** Who a Jitsi token's `context.user.id` is (the video deployment's logs name pseudonyms only). */
export async function participantByPseudonym(db: Executor, tenantId: string, sessionId: string, pseudonym: string): Promise<SessionParticipant | undefined> {
  const [row] = await db
    .select()
    .from(sessionParticipants)
    .where(and(eq(sessionParticipants.tenantId, tenantId), eq(sessionParticipants.sessionId, sessionId), eq(sessionParticipants.pseudonym, pseudonym)))
    .limit(1);
  return row;
}

/** Stamps the leave time; undefined when the caller never joined this session. */
export async function recordLeave(db: Executor, session: VirtualSession, participantRef: string, now: Date): Promise<SessionParticipant | undefined> {
  const [row] = await db
    .update(sessionParticipants)
    .set({ lastLeftAt: now })
    .where(
      and(
        eq(sessionParticipants.tenantId, session.tenantId),
        eq(sessionParticipants.sessionId, session.id),
        eq(sessionParticipants.participantRef, participantRef),
      ),
    )
    .returning();
  return row;
}

export async function listParticipants(db: Executor, tenantId: string, sessionId: string): Promise<SessionParticipant[]> {
  return db
    .select()
    .from(sessionParticipants)
    .where(and(eq(sessionParticipants.tenantId, tenantId), eq(sessionParticipants.sessionId, sessionId)))
    .orderBy(asc(sessionParticipants.firstJoinedAt), asc(sessionParticipants.participantRef));
}

export async function appendAudit(
  db: Executor,
  session: VirtualSession,
  action: string,
  actorRef: string,
  details: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await db.insert(sessionAuditEvents).values({ tenantId: session.tenantId, sessionId: session.id, action, actorRef, details, occurredAt: now });
}

/** An instant as `Date.prototype.toISOString` writes it (the columns have millisecond precision). */
const iso = (column: string): string => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * GET /sessions/:id's reply as PostgreSQL writes it: the API view's fields in `sessionView`'s order, as
 * compact JSON text (row_to_json writes no whitespace; strings are escaped as JSON.stringify escapes them),
 * and the patient for the visibility check. One named prepared statement, two text columns: no row of 18
 * typed fields to describe, parse and map, no Dates, no view object, no JSON.stringify in this process.
 */
const VIEW_READ = {
  name: 'vc_session_view_json',
  text: `select row_to_json(v)::text, v."patientRef" from (select id, tenant_id as "tenantId", legacy_id as "legacyId",
    patient_ref as "patientRef", practitioner_ref as "practitionerRef", ${iso('scheduled_start')} as "scheduledStart",
    ${iso('scheduled_end')} as "scheduledEnd", ${iso('started_at')} as "startedAt", ${iso('ended_at')} as "endedAt", status,
    cancel_reason as "cancelReason", video_backend as "videoBackend", room_name as "roomName", encounter_ref as "encounterRef",
    version, ${iso('created_at')} as "createdAt", ${iso('updated_at')} as "updatedAt"
    from virtual_sessions where tenant_id = $1 and id = $2 limit 1) v`,
  rowMode: 'array' as const,
};

/** A session's API view as JSON text, and its patient (for `canSee`). */
export interface SessionViewJson {
  patientRef: string;
  json: string;
}

/**
 * A session of the tenant as the API shows it, already serialized, for replies that only show it. On a
 * node-postgres pool `VIEW_READ`; elsewhere (a transaction, PGlite) the drizzle read through `sessionView`,
 * the same text.
 */
export async function findSessionViewJson(db: Executor, tenantId: string, id: string): Promise<SessionViewJson | undefined> {
  const client = (db as { $client?: unknown }).$client;
  if (client && typeof client === 'object' && 'totalCount' in client) {
    const result = await (client as ViewPool).query({ ...VIEW_READ, values: [tenantId, id] });
    const row = result.rows[0];
    return row ? { json: row[0], patientRef: row[1] } : undefined;
  }
  const session = await findSession(db, tenantId, id);
  return session ? { json: JSON.stringify(sessionView(session)), patientRef: session.patientRef } : undefined;
}

/** node-postgres's Pool, as drizzle keeps it on `$client` (PGlite's client has no `totalCount`). */
interface ViewPool {
  totalCount: number;
  query(config: typeof VIEW_READ & { values: unknown[] }): Promise<{ rows: Array<[string, string]> }>;
}
