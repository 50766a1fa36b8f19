import type { ParticipantRole, TenantVirtualCareConfig, VirtualSession } from '@vc/schema';
import { createHash } from 'node:crypto';
import { type Placeholder, type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Executor } from '../db';
import type { IdempotencyScope } from '../idempotency/repo';
import type { OutboxEventRow } from '../outbox/write';
import type { SessionChanges } from './repo';

/** Everything a join writes, decided and built before the one statement that writes it. */
export interface JoinWrite {
  /** The session as read: the write happens only while it is still at this version. */
  seen: VirtualSession;
  changes: SessionChanges;
  now: Date;
  participant: { ref: string; role: ParticipantRole; displayName: string | null; pseudonym: string };
  /** The config the reply's token was signed with: the write happens only while the table still says so. */
  config: Pick<TenantVirtualCareConfig, 'version' | 'credentialsCiphertext' | 'jitsiServerUrl' | 'jitsiAppId'>;
  auditDetails: Record<string, unknown>;
  events: readonly OutboxEventRow[];
  /** The request's Idempotency-Key claim and its reply, stored by the same statement. */
  reply?: { scope: IdempotencyScope; status: number; body: unknown };
}

const COLUMN: Record<keyof SessionChanges, string> = { status: 'status', startedAt: 'started_at', endedAt: 'ended_at', cancelReason: 'cancel_reason' };
const CAST: Record<keyof SessionChanges, string> = { status: 'session_status', startedAt: 'timestamptz', endedAt: 'timestamptz', cancelReason: 'text' };

/** What decides the statement's text: which columns change, and whether a keyed request's reply is stored. */
interface Shape {
  changed: ReadonlyArray<keyof SessionChanges>;
  withReply: boolean;
}

/** A statement parameter by name: a drizzle placeholder (text built once per shape) or the value itself. */
type Param = (name: string) => unknown;

/**
 * A join in ONE statement (one round trip, no BEGIN/COMMIT): the versioned session UPDATE, the
 * participant upsert, the audit row, the outbox rows and, for a keyed request, the idempotent reply.
 * Every other part reads `s`, so when the UPDATE matches no row nothing at all is written. It matches
 * only while (a) the session is still at the version the state machine decided on, (b) the tenant config
 * still holds what the token was signed with (a cached config may be stale), and (c) the participant's
 * stored pseudonym, if any, is the one in the token.
 */
function joinStatement({ changed, withReply }: Shape, v: Param): SQL {
  const sets = changed.map((k) => sql`${sql.raw(COLUMN[k])} = ${v(k)}::${sql.raw(CAST[k])}`);
  const setList = sql.join([...sets, sql`version = version + 1`, sql`updated_at = ${v('at')}::timestamptz`], sql`, `);
  const reply = withReply
    ? sql`, r as (
        update idempotency_keys set response_status = ${v('replyStatus')}, response_body = ${v('replyBody')}::jsonb
        where tenant_id = ${v('replyTenant')} and principal = ${v('replyPrincipal')} and key = ${v('replyKey')} and exists (select 1 from s)
      )`
    : sql``;
  return sql`
    with s as (
      update virtual_sessions set ${setList}
      where tenant_id = ${v('tenantId')} and id = ${v('sessionId')} and version = ${v('version')}
        and exists (
          select 1 from tenant_virtual_care_configs c
          where c.tenant_id = ${v('tenantId')} and c.enabled and c.version = ${v('configVersion')} and c.credentials_ciphertext = ${v('ciphertext')}
            and c.jitsi_server_url = ${v('serverUrl')} and c.jitsi_app_id = ${v('appId')}
        )
        and coalesce((select sp.pseudonym from session_participants sp where sp.session_id = ${v('sessionId')} and sp.participant_ref = ${v('ref')}), ${v('pseudonym')}) = ${v('pseudonym')}
      returning id, tenant_id
    ), p as (
      -- First join inserts the row; later joins count up, keep the first join time and the pseudonym, and move
      -- the last join time (a rejoin after a leave: the Encounter ends this participant at the session's end).
      insert into session_participants (session_id, tenant_id, participant_ref, role, display_name, first_joined_at, last_joined_at, join_count, source, pseudonym)
      select id, tenant_id, ${v('ref')}, ${v('role')}::participant_role, ${v('displayName')}, ${v('at')}::timestamptz, ${v('at')}::timestamptz, 1, 'live', ${v('pseudonym')} from s
      on conflict (session_id, participant_ref) do update set
        join_count = session_participants.join_count + 1,
        first_joined_at = coalesce(session_participants.first_joined_at, excluded.first_joined_at),
        last_joined_at = excluded.last_joined_at,
        display_name = coalesce(excluded.display_name, session_participants.display_name),
        pseudonym = coalesce(session_participants.pseudonym, excluded.pseudonym)
    ), a as (
      insert into session_audit_events (tenant_id, session_id, action, actor_ref, details, occurred_at)
      select tenant_id, id, 'participant.joined', ${v('ref')}, ${v('auditDetails')}::jsonb, ${v('at')}::timestamptz from s
    ), o as (
      insert into outbox (id, tenant_id, kind, subject, aggregate_id, payload, created_at, next_attempt_at)
      select e.id, s.tenant_id, 'event', e.subject, s.id, e.payload, ${v('at')}::timestamptz, ${v('at')}::timestamptz
      from s cross join jsonb_to_recordset(${v('events')}::jsonb) as e(id uuid, subject text, payload jsonb)
    )${reply}
    select count(*)::int as written from s`;
}

/** The statement's parameters by name (the same for every shape; a shape uses those it names). */
function joinValues(w: JoinWrite): Record<string, unknown> {
  const { seen, participant: p, config: c, changes } = w;
  const values: Record<string, unknown> = {
    at: w.now.toISOString(),
    tenantId: seen.tenantId,
    sessionId: seen.id,
    version: seen.version,
    configVersion: c.version,
    ciphertext: c.credentialsCiphertext,
    serverUrl: c.jitsiServerUrl,
    appId: c.jitsiAppId,
    ref: p.ref,
    role: p.role,
    displayName: p.displayName,
    pseudonym: p.pseudonym,
    auditDetails: JSON.stringify(w.auditDetails),
    events: JSON.stringify(w.events),
  };
  for (const k of Object.keys(changes) as Array<keyof SessionChanges>) {
    const value = changes[k];
    values[k] = value instanceof Date ? value.toISOString() : value;
  }
  if (w.reply) {
    values.replyStatus = w.reply.status;
    values.replyBody = JSON.stringify(w.reply.body ?? null);
    values.replyTenant = w.reply.scope.tenantId;
    values.replyPrincipal = w.reply.scope.principal;
    values.replyKey = w.reply.scope.key;
  }
  return values;
}

/**
 * Writes a join (see `joinStatement`). Returns false when the UPDATE matched no row: the session, the
 * tenant config or the pseudonym changed since the read; the caller reads again and decides again.
 */
export async function writeJoin(db: Executor, w: JoinWrite): Promise<boolean> {
  const shape: Shape = { changed: Object.keys(w.changes) as Array<keyof SessionChanges>, withReply: w.reply !== undefined };
  const values = joinValues(w);
  const client = (db as { $client?: unknown }).$client;
  // On a node-postgres pool the statement runs as a named prepared statement: its text depends only on its
  // shape, so PostgreSQL parses and plans each shape once per connection instead of on every join, and
  // this process builds each shape's text once. In a transaction or on PGlite it runs through drizzle as is.
  if (client && typeof client === 'object' && 'totalCount' in client) {
    const prepared = preparedShape(shape);
    const result = await (client as PgPool).query({ name: prepared.name, text: prepared.text, values: prepared.params.map((name) => values[name]) });
    return result.rows[0]!.written === 1;
  }
  const result = (await db.execute(joinStatement(shape, (name) => values[name]))) as unknown as { rows: Array<{ written: number }> };
  return result.rows[0]!.written === 1;
}

const dialect = new PgDialect();
const shapes = new Map<string, { name: string; text: string; params: string[] }>();

/** The text of a shape with $n parameters, the statement name it is prepared under and its parameters' names in order. */
function preparedShape(shape: Shape): { name: string; text: string; params: string[] } {
  const key = `${shape.changed.join(',')}|${shape.withReply}`;
  let found = shapes.get(key);
  if (!found) {
    const { sql: text, params } = dialect.sqlToQuery(joinStatement(shape, (name) => sql.placeholder(name)));
    const name = `vc_join_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    shapes.set(key, (found = { name, text, params: params.map((p) => (p as Placeholder).name) }));
  }
  return found;
}

/** node-postgres's Pool, as drizzle keeps it on `$client` (PGlite's client has no `totalCount`). */
interface PgPool {
  totalCount: number;
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Array<{ written: number }> }>;
}
