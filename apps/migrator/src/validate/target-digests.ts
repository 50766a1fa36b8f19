import { queryRows, type Database } from '@vc/schema';
import { sql, type SQL } from 'drizzle-orm';
import { sessionStillMigrated } from '../phases/still-migrated';

/**
 * The target side of the streamed fingerprints, summed by PostgreSQL: for a batch of legacy ids, each row's
 * leaf (sha256 of its projection's canonical JSON, written in SQL) and its key's hash, summed per byte
 * position, so one row per batch crosses the wire instead of every row, and the migrator's one thread keeps
 * to the legacy side. The SQL texts must equal what the migrator hashes (`sessionJson`, `participantsJson`);
 * where one does not (a value neither side expected), the sums differ and the per-id maps, computed in the
 * migrator, decide: a wrong text here can cost time, never a difference missed.
 */

/** A column's JSON text as `JSON.stringify` writes a string or null. */
const text = (column: string) => `coalesce(to_json(${column})::text, 'null')`;
/** A timestamptz as `Date#toISOString` writes it (years 0–9999; the columns hold milliseconds), or null. */
const iso = (column: string) => `coalesce('"' || to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'null')`;

/** `canonicalJson` of an object whose values are these SQL JSON texts: its keys sorted as canonicalJson sorts them. */
function canonicalObject(fields: Readonly<Record<string, string>>): string {
  const keys = Object.keys(fields).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${keys.map((k, i) => `'${i === 0 ? '{' : ','}${JSON.stringify(k)}:' || ${fields[k]}`).join(' || ')} || '}'`;
}

/** `sessionProjection` of a `virtual_sessions` row. */
const SESSION_JSON = canonicalObject({
  legacyId: text('legacy_id'),
  patientRef: text('patient_ref'),
  practitionerRef: text('practitioner_ref'),
  scheduledStart: iso('scheduled_start'),
  scheduledEnd: iso('scheduled_end'),
  startedAt: iso('started_at'),
  status: text('status::text'),
  cancelReason: text('cancel_reason'),
  videoBackend: text('video_backend::text'),
});

/** One participant of `session_participants p`, as `participantsJson` writes each. */
const PARTICIPANT_JSON = canonicalObject({
  participantRef: text('p.participant_ref'),
  role: text('p.role::text'),
  displayName: text('p.display_name'),
  firstJoinedAt: iso('p.first_joined_at'),
  lastLeftAt: iso('p.last_left_at'),
  lastJoinedAt: iso('p.last_joined_at'),
  joinCount: 'p.join_count::text',
});

/** Per byte position of the digests `l` (leaf) and `k` (key), their sum over the rows compared (not skipped). */
const BYTE_SUMS = Array.from({ length: 32 }, (_, j) => `sum(get_byte(l, ${j}) + get_byte(k, ${j})) filter (where not skipped) as b${j}`).join(', ');

/** What a batch's target rows add: how many rows the batch met (skipped ones too), and the others' sum. */
export interface BatchDigest {
  met: number;
  rows: number;
  byteSums: Array<string | null>;
}

interface Row {
  met: string | number;
  rows: string | number;
  [byte: string]: string | number | null;
}

const jsonIds = (ids: readonly string[]): SQL => sql`(select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`;

function digestOf(row: Row | undefined): BatchDigest {
  return {
    met: Number(row?.met ?? 0),
    rows: Number(row?.rows ?? 0),
    byteSums: Array.from({ length: 32 }, (_, j) => (row?.[`b${j}`] ?? null) as string | null),
  };
}

/** What a batch's target rows add to each table's sum, and the batch's ids the target does not hold. */
export interface BatchDigests {
  sessions: BatchDigest;
  participants: BatchDigest;
  /** Ids of the batch with no migrated session (none on a healthy tenant): what `sessions.reconciled` asks of it. */
  absent: string[];
  /** Ids whose session the service changed since its legacy version (see `legacyUpdatedAt`): left out of the sums. */
  changed: string[];
}

/**
 * A batch's migrated sessions (`ids`: found once, by the (tenant_id, legacy_id) index) and their backfilled
 * participants, in one statement: those of `deferred`, and those no longer the migrator's (still-migrated.ts;
 * an unmarked row judged by its legacy `updatedAt` in `legacyUpdatedAt`, given once S4 cut over: before, the service
 * has written no migrated session), counted as met but left out of the sums. A session's
 * participants make one leaf (by actor; the C collation's order is the migrator's but for characters past
 * U+FFFF); participants' `met` counts participant rows. `materialized` keeps each row whole: inlined, each
 * get_byte would hash the row again. Each session's participants are read by a lateral subquery, i.e. by the
 * session_id index, whatever the statistics say: joined plainly, right after a load and before autoanalyze, the
 * planner took session_participants for a couple of rows and scanned the whole table once per session of the batch
 * (26 s per batch of 5,000 at 100k sessions instead of 0.1 s).
 */
export async function targetBatchDigests(
  db: Database,
  tenantId: string,
  ids: readonly string[],
  deferred: readonly string[],
  legacyUpdatedAt?: Readonly<Record<string, string>>,
): Promise<BatchDigests> {
  const rows = await queryRows<Row & { kind: 's' | 'p'; absent: string[] | null; changed: string[] | null }>(
    db,
    sql`with c as materialized (
          select id, legacy_id, legacy_id in ${jsonIds(deferred)} as deferred,
                 ${legacyUpdatedAt === undefined ? sql`false` : sql.raw(`not ${sessionStillMigrated('virtual_sessions', '(j.legacy_at ->> legacy_id)::timestamptz')}`)} as changed,
                 sha256(convert_to(${sql.raw(SESSION_JSON)}, 'UTF8')) as l, sha256(convert_to(to_json(legacy_id)::text, 'UTF8')) as k
          from virtual_sessions, (select ${JSON.stringify(legacyUpdatedAt ?? {})}::jsonb as legacy_at) j
          where tenant_id = ${tenantId} and legacy_id in ${jsonIds(ids)}),
        t as materialized (select c.*, deferred or changed as skipped from c),
        g as materialized (
          select t.skipped, t.k, x.n, x.l
          from t cross join lateral (
            select count(*) as n,
                   sha256(convert_to('[' || string_agg(${sql.raw(PARTICIPANT_JSON)}, ',' order by p.participant_ref collate "C") || ']', 'UTF8')) as l
            from session_participants p
            where p.session_id = t.id and p.tenant_id = ${tenantId} and p.source = 'audit_backfill') x
          where x.n > 0)
        select 's' as kind, count(*) as met, count(*) filter (where not skipped) as rows, ${sql.raw(BYTE_SUMS)},
               (select array_agg(i) from ${jsonIds(ids)} as a(i) where not exists (select 1 from t where t.legacy_id = a.i)) as absent,
               array_agg(legacy_id) filter (where changed) as changed
        from t
        union all
        select 'p', coalesce(sum(n), 0), count(*) filter (where not skipped), ${sql.raw(BYTE_SUMS)}, null, null from g`,
  );
  const sessions = rows.find((r) => r.kind === 's');
  return {
    sessions: digestOf(sessions),
    participants: digestOf(rows.find((r) => r.kind === 'p')),
    absent: sessions?.absent ?? [],
    changed: sessions?.changed ?? [],
  };
}
