import { PARTICIPANT_ROLES } from '@vc/domain/legacy';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { readAhead } from './read-ahead';
import type { LegacyRow, ParticipantGroup, ParticipantPushdown, ParticipantWindow, ReadOptions } from './types';

/**
 * S1 1.4's participant fold pushed down into the legacy MariaDB (docs/design.md §5, plan 1.4): AuditLog is
 * cut into windows of `batchSize` rows by primary key (the resume position stays the last id, as in a plain
 * read), and within a window the *plain* participant events are grouped per (session, actor) in SQL, so one
 * row per participant crosses the wire instead of one per event. Every other event of the window comes
 * back whole and takes the per-row path (the domain parser), so rejects and warnings stay per source row.
 *
 * "Plain" is deliberately narrow: exactly what the domain parser would accept unchanged and without a
 * warning — canonical entityType/action, printable-ASCII actorRef and entityId (nothing to trim or
 * normalise, within the indexed-text limit), an actorDisplay without NUL, a payload that is NULL or
 * valid JSON whose role both parsers read alike (PLAIN_ROLE), an occurredAt in the common form with a real calendar date. Anything else (malformed
 * payloads, missing actors, zero dates, odd whitespace, NULs) is read row by row. Grouping compares bytes
 * (`binary`): the legacy collation (utf8mb4_unicode_ci) would fold case and trailing spaces together.
 * Patterns end in `\z`, not `$`: MariaDB's REGEXP is PCRE, whose `$` also matches before a final newline,
 * which would pass 'Patient/1<newline>' as plain while the parser trims it.
 */
const ASCII_REF = (column: string) =>
  `(cast(${column} as binary) regexp '^[!-~]+\\\\z' and octet_length(${column}) <= 1024 and cast(${column} as binary) <> '\\\\N')`;
/**
 * A payload whose role MariaDB reads as the domain parser does (`payloadRole`): no role, a JSON null, or a string of
 * lowercase letters only (nothing to trim or fold, so it is a known role exactly when it equals one). One `"role"`
 * in the text and no backslash: a duplicated or escaped key could be read differently by the two JSON parsers. Any
 * other payload takes the per-row path.
 */
const ROLE_PATH = "json_extract(payload, '$.role')";
const PLAIN_ROLE = `locate(char(92), payload) = 0 and char_length(payload) - char_length(replace(payload, '"role"', '')) <= 6
  and (json_type(${ROLE_PATH}) is null or json_type(${ROLE_PATH}) = 'NULL'
       or (json_type(${ROLE_PATH}) = 'STRING' and cast(json_unquote(${ROLE_PATH}) as binary) regexp '^[a-z]*\\\\z'))`;
/** A plain join's payload names a known role (for a plain row, exactly when the domain parser finds one). */
const KNOWN_ROLE = `(payload is not null and cast(json_unquote(${ROLE_PATH}) as binary) in (${PARTICIPANT_ROLES.map((r) => `'${r}'`).join(', ')}))`;

const PLAIN = [
  "cast(entityType as binary) = 'VirtualSession'",
  "cast(action as binary) in ('participant.joined', 'participant.left')",
  `actorRef is not null and ${ASCII_REF('actorRef')}`,
  ASCII_REF('entityId'),
  "(actorDisplay is null or (locate(x'00', cast(actorDisplay as binary)) = 0 and octet_length(actorDisplay) <= 65535))",
  `(payload is null or (json_valid(payload) and ${PLAIN_ROLE}))`,
  "cast(occurredAt as char) regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\\\.[0-9]{1,6})?\\\\z'",
  'year(occurredAt) > 0 and month(occurredAt) between 1 and 12 and dayofmonth(occurredAt) between 1 and dayofmonth(last_day(occurredAt))',
].join(' and ');

/** The same partition the domain fold keys on: the session's legacy id and the actor, byte for byte. */
const PARTICIPANT = 'cast(entityId as binary), cast(actorRef as binary)';
const JOINED = "(cast(action as binary) = 'participant.joined')";

// The lead row decides role and display name, as `mergeParticipant` does: the earliest join, the first
// such by id on a tie; without any join, the first event by id. Found as the least (time, id) key per
// group, so the grouping sorts only narrow columns (no payload), then joined back by primary key.
const AT = 'cast(occurredAt as datetime(3))';
const JOIN_KEY = `concat(date_format(${AT}, '%Y%m%d%H%i%s%f'), lpad(id, 20, '0'))`;
// The role comes from its own lead (docs/design.md §5): the earliest join whose payload names a known role, the
// first such by id on a tie; none when no join does (the role is then the actor type's).
const ROLE_JOIN = `${JOINED} and ${KNOWN_ROLE}`;
const GROUPS_SQL = (filter: string) => `
  select g.entityId, g.actorRef, g.leadId, a.actorDisplay as leadDisplay, a.payload as leadPayload, g.n, g.joins, g.firstJoinedAt, g.lastLeftAt, g.lastJoinedAt,
         g.roleLeadId, r.payload as roleLeadPayload, g.roleJoinedAt from (
    select min(entityId) as entityId, min(actorRef) as actorRef, count(*) as n, sum(${JOINED}) as joins,
           min(case when ${JOINED} then ${AT} end) as firstJoinedAt, max(case when not ${JOINED} then ${AT} end) as lastLeftAt,
           max(case when ${JOINED} then ${AT} end) as lastJoinedAt,
           coalesce(cast(right(min(case when ${JOINED} then ${JOIN_KEY} end), 20) as unsigned), min(id)) as leadId,
           min(case when ${ROLE_JOIN} then ${AT} end) as roleJoinedAt,
           cast(right(min(case when ${ROLE_JOIN} then ${JOIN_KEY} end), 20) as unsigned) as roleLeadId
      from AuditLog where ${filter} and ${PLAIN}
     group by ${PARTICIPANT}
  ) g join AuditLog a on a.id = g.leadId left join AuditLog r on r.id = g.roleLeadId`;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

interface Window {
  lo: string | null;
  hi: string | null;
}

/**
 * The participant pushdown of a MariaDB legacy source. `where` is the caller's filter of participant rows
 * (tenant, entityType, action) as SQL with its parameters; `asText` turns a driver row into a legacy row.
 */
export function createParticipantPushdown(
  pool: Pool,
  where: (options: Pick<ReadOptions, 'tenantId' | 'where'>) => { sql: string[]; params: unknown[] },
  asText: (row: RowDataPacket) => LegacyRow,
): ParticipantPushdown {
  const bounded = (options: Pick<ReadOptions, 'tenantId' | 'where'>, window: Window) => {
    const w = where(options);
    if (window.lo !== null) {
      w.sql.push('id > cast(? as signed)');
      w.params.push(window.lo);
    }
    if (window.hi !== null) {
      w.sql.push('id <= cast(? as signed)');
      w.params.push(window.hi);
    }
    return { sql: w.sql.length ? w.sql.join(' and ') : 'true', params: w.params };
  };

  /**
   * The last id of the next `batchSize` rows of the tenant (any entity), on the (tenantId, id) index; at the
   * end, `until` (the end of the item's key range) or null (the end of the tenant).
   */
  async function windowEnd(tenantId: string, lo: string | null, until: string | null, batchSize: number): Promise<string | null> {
    const params: unknown[] = [tenantId];
    if (lo !== null) params.push(lo);
    if (until !== null) params.push(until);
    const [rows] = await pool.query<RowDataPacket[]>(
      `select id from AuditLog where tenantId = ?${lo === null ? '' : ' and id > cast(? as signed)'}${until === null ? '' : ' and id <= cast(? as signed)'}
        order by id limit 1 offset ${Number(batchSize) - 1}`,
      params,
    );
    return rows.length ? String(rows[0]!.id) : until;
  }

  async function readWindow(options: ReadOptions, window: Window): Promise<ParticipantWindow> {
    const filter = bounded(options, window);
    const [[groupRows], [otherRows], [maxRows]] = await Promise.all([
      pool.query<RowDataPacket[]>(GROUPS_SQL(filter.sql), filter.params),
      pool.query<RowDataPacket[]>(`select * from AuditLog where ${filter.sql} and (${PLAIN}) is not true order by id`, filter.params),
      window.hi === null
        ? pool.query<RowDataPacket[]>(`select max(id) as id from AuditLog where tenantId = ?`, [options.tenantId])
        : Promise.resolve([[{ id: window.hi }]] as unknown as [RowDataPacket[]]),
    ]);
    const groups: ParticipantGroup[] = groupRows.map((g) => ({
      entityId: str(g.entityId)!,
      actorRef: str(g.actorRef)!,
      leadId: String(g.leadId),
      leadDisplay: str(g.leadDisplay),
      leadPayload: str(g.leadPayload),
      events: Number(g.n),
      joins: Number(g.joins),
      firstJoinedAt: str(g.firstJoinedAt),
      lastLeftAt: str(g.lastLeftAt),
      lastJoinedAt: str(g.lastJoinedAt),
      roleLeadId: str(g.roleLeadId),
      roleLeadPayload: str(g.roleLeadPayload),
      roleJoinedAt: str(g.roleJoinedAt),
    }));
    const rows = otherRows.map(asText);
    // The end of the tenant's key space when the window is the last one: resuming after it reads nothing more.
    const position = str(maxRows[0]?.id) ?? window.lo ?? '0';
    return { after: window.lo, position, groups, rows, ordinals: rows.map((r) => r.id ?? '') };
  }

  async function* windows(options: ReadOptions): AsyncGenerator<ParticipantWindow> {
    let lo = options.after ?? null;
    for (;;) {
      if (options.signal?.aborted) return;
      const until = options.until ?? null;
      // Resumed at the end of the item's key range: nothing left.
      if (until !== null && lo !== null && BigInt(lo) >= BigInt(until)) return;
      const hi = await windowEnd(options.tenantId!, lo, until, options.batchSize);
      const window = await readWindow(options, { lo, hi });
      const last = hi === null || hi === until;
      if (last && window.groups.length === 0 && window.rows.length === 0) return;
      yield window;
      if (last) return;
      lo = hi;
    }
  }

  return {
    windows: (options) => readAhead(windows(options)),
    async plainRows(options, window, entityIds) {
      if (entityIds.length === 0) return [];
      const filter = bounded(options, { lo: window.after, hi: window.position });
      const [rows] = await pool.query<RowDataPacket[]>(
        `select * from AuditLog where ${filter.sql} and ${PLAIN} and cast(entityId as binary) in (${entityIds.map(() => '?').join(', ')}) order by id`,
        [...filter.params, ...entityIds],
      );
      return rows.map(asText);
    },
  };
}
