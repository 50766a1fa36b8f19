import type { ParticipantRole, TenantVirtualCareConfig, VirtualSession } from '@vc/schema';
import { createHash } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
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

function setList(changes: SessionChanges, now: Date): SQL {
  const sets = (Object.keys(changes) as Array<keyof SessionChanges>).map((k) => {
    const value = changes[k];
    return sql`${sql.raw(COLUMN[k])} = ${value instanceof Date ? value.toISOString() : value}::${sql.raw(CAST[k])}`;
  });
  return sql.join([...sets, sql`version = version + 1`, sql`updated_at = ${now.toISOString()}::timestamptz`], sql`, `);
}

/**
 * A join in ONE statement (one round trip, no BEGIN/COMMIT): the versioned session UPDATE, the
 * participant upsert, the audit row, the outbox rows and, for a keyed request, the idempotent reply.
 * Every other part reads `s`, so when the UPDATE matches no row nothing at all is written. It matches
 * only while (a) the session is still at the version the state machine decided on, (b) the tenant config
 * still holds what the token was signed with (a cached config may be stale), and (c) the participant's
 * stored pseudonym, if any, is the one in the token. Returns false when any of these no longer holds;
 * the caller reads again and decides again.
 */
export async function writeJoin(db: Executor, w: JoinWrite): Promise<boolean> {
  const { seen, participant: p, config: c, now } = w;
  const at = now.toISOString();
  const reply = w.reply
    ? sql`, r as (
        update idempotency_keys set response_status = ${w.reply.status}, response_body = ${JSON.stringify(w.reply.body ?? null)}::jsonb
        where tenant_id = ${w.reply.scope.tenantId} and principal = ${w.reply.scope.principal} and key = ${w.reply.scope.key} and exists (select 1 from s)
      )`
    : sql``;
  const statement = sql`
    with s as (
      update virtual_sessions set ${setList(w.changes, now)}
      where tenant_id = ${seen.tenantId} and id = ${seen.id} and version = ${seen.version}
        and exists (
          select 1 from tenant_virtual_care_configs c
          where c.tenant_id = ${seen.tenantId} and c.enabled and c.version = ${c.version} and c.credentials_ciphertext = ${c.credentialsCiphertext}
            and c.jitsi_server_url = ${c.jitsiServerUrl} and c.jitsi_app_id = ${c.jitsiAppId}
        )
        and coalesce((select sp.pseudonym from session_participants sp where sp.session_id = ${seen.id} and sp.participant_ref = ${p.ref}), ${p.pseudonym}) = ${p.pseudonym}
      returning id, tenant_id
    ), p as (
      -- First join inserts the row; later joins count up and keep the first join time and the pseudonym.
      insert into session_participants (session_id, tenant_id, participant_ref, role, display_name, first_joined_at, join_count, source, pseudonym)
      select id, tenant_id, ${p.ref}, ${p.role}::participant_role, ${p.displayName}, ${at}::timestamptz, 1, 'live', ${p.pseudonym} from s
      on conflict (session_id, participant_ref) do update set
        join_count = session_participants.join_count + 1,
        first_joined_at = coalesce(session_participants.first_joined_at, excluded.first_joined_at),
        display_name = coalesce(excluded.display_name, session_participants.display_name),
        pseudonym = coalesce(session_participants.pseudonym, excluded.pseudonym)
    ), a as (
      insert into session_audit_events (tenant_id, session_id, action, actor_ref, details, occurred_at)
      select tenant_id, id, 'participant.joined', ${p.ref}, ${JSON.stringify(w.auditDetails)}::jsonb, ${at}::timestamptz from s
    ), o as (
      insert into outbox (id, tenant_id, kind, subject, aggregate_id, payload, created_at, next_attempt_at)
      select e.id, s.tenant_id, 'event', e.subject, s.id, e.payload, ${at}::timestamptz, ${at}::timestamptz
      from s cross join jsonb_to_recordset(${JSON.stringify(w.events)}::jsonb) as e(id uuid, subject text, payload jsonb)
    )${reply}
    select count(*)::int as written from s`;
  const result = await execute(db, statement);
  return result.rows[0]!.written === 1;
}

const dialect = new PgDialect();
const names = new Map<string, string>();

/** node-postgres's Pool, as drizzle keeps it on `$client` (PGlite's client has no `totalCount`). */
interface PgPool {
  totalCount: number;
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Array<{ written: number }> }>;
}

/**
 * On a node-postgres pool the statement runs as a named prepared statement: its text depends only on
 * which columns change and whether a reply is stored, so PostgreSQL parses and plans each shape once per
 * connection instead of on every join. In a transaction or on PGlite it runs through drizzle as is.
 */
async function execute(db: Executor, statement: SQL): Promise<{ rows: Array<{ written: number }> }> {
  const client = (db as { $client?: unknown }).$client;
  if (client && typeof client === 'object' && 'totalCount' in client) {
    const { sql: text, params } = dialect.sqlToQuery(statement);
    let name = names.get(text);
    if (!name) names.set(text, (name = `vc_join_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`));
    return (client as PgPool).query({ name, text, values: params });
  }
  return (await db.execute(statement)) as unknown as { rows: Array<{ written: number }> };
}
