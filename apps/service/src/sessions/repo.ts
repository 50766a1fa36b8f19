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
import type { SessionReply } from './schemas';
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

/** First join inserts the row; later joins count up and keep the first join time. */
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
      joinCount: 1,
      source: 'live',
      pseudonym: newPseudonym(),
    })
    .onConflictDoUpdate({
      target: [sessionParticipants.sessionId, sessionParticipants.participantRef],
      set: {
        joinCount: sql`${sessionParticipants.joinCount} + 1`,
        firstJoinedAt: sql`coalesce(${sessionParticipants.firstJoinedAt}, excluded.first_joined_at)`,
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

/**
 * The columns of a session's API view, in the order `sessionViewOfRow` reads them: a read for the view
 * only (GET /sessions/:id) leaves out what the view does not show (migrated_from, jsonb that a migrated
 * session carries and that would be parsed per read).
 */
const VIEW_COLUMNS = [
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
  'version',
  'created_at',
  'updated_at',
] as const;

const VIEW_READ = {
  name: 'vc_session_view',
  text: `select ${VIEW_COLUMNS.join(', ')} from virtual_sessions where tenant_id = $1 and id = $2 limit 1`,
  rowMode: 'array' as const,
};

// node-postgres parses timestamptz into a Date by default; the columns have millisecond precision, so
// its ISO string is the instant exactly (as drizzle's mapping of the full row gives it).
const isoOf = (value: Date | null): string | null => (value === null ? null : value.toISOString());

/** A session row of `VIEW_READ` as the API's view (the shape `sessionView` gives a full row). */
function sessionViewOfRow(r: unknown[]): SessionReply {
  return {
    id: r[0] as string,
    tenantId: r[1] as string,
    legacyId: r[2] as string | null,
    patientRef: r[3] as string,
    practitionerRef: r[4] as string | null,
    scheduledStart: isoOf(r[5] as Date | null),
    scheduledEnd: isoOf(r[6] as Date | null),
    startedAt: isoOf(r[7] as Date | null),
    endedAt: isoOf(r[8] as Date | null),
    status: r[9] as SessionStatus,
    cancelReason: r[10] as string | null,
    videoBackend: r[11] as SessionReply['videoBackend'],
    roomName: r[12] as string | null,
    encounterRef: r[13] as string | null,
    version: r[14] as number,
    createdAt: isoOf(r[15] as Date)!,
    updatedAt: isoOf(r[16] as Date)!,
  };
}

/**
 * A session of the tenant as the API shows it, for reads that only show it. On a node-postgres pool one
 * named prepared statement of the view's columns, rows as arrays, no drizzle mapping or intermediate row
 * object; elsewhere (a transaction, PGlite) the drizzle read through `sessionView`, the same reply.
 */
export async function findSessionView(db: Executor, tenantId: string, id: string): Promise<SessionReply | undefined> {
  const client = (db as { $client?: unknown }).$client;
  if (client && typeof client === 'object' && 'totalCount' in client) {
    const result = await (client as ViewPool).query({ ...VIEW_READ, values: [tenantId, id] });
    const row = result.rows[0];
    return row ? sessionViewOfRow(row) : undefined;
  }
  const session = await findSession(db, tenantId, id);
  return session ? sessionView(session) : undefined;
}

/** node-postgres's Pool, as drizzle keeps it on `$client` (PGlite's client has no `totalCount`). */
interface ViewPool {
  totalCount: number;
  query(config: typeof VIEW_READ & { values: unknown[] }): Promise<{ rows: unknown[][] }>;
}
