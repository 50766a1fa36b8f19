import { groupParticipantEvents, parseParticipantEvent, type LegacyAuditLog, type LegacyVirtualSession, type ParticipantEvent } from '@vc/domain/legacy';
import type { Database } from '@vc/schema';
import { keyDigestOf, ShareSum, type Digest } from '../evidence/fingerprint';
import { LEGACY_TABLES } from '../legacy/tables';
import type { LegacyBatch, LegacyRow, LegacySource } from '../legacy/types';
import { PARTICIPANT_HISTORY, PARTICIPANT_HISTORY_BY_ENTITY } from '../phases/s1/participant-history';
import { participantsJsonBySession } from './participant-fingerprint';
import { sessionJson, sessionProjection } from './session-digests';
import { clashRejectedIds } from './clash-rejects';
import { lateEventSessions } from './late-events';
import { deltaSyncScope, foldsParticipants, mapInScope, type DeltaSyncScope } from './s4-scope';
import type { SessionTally } from './session-tally';
import { tenantTargetCounts, type TargetCountsOf } from './target-counts';
import { targetBatchDigests, type BatchDigests } from './target-digests';

/** One table's streamed sums (see `ShareSum`), and whether every target row was met through a legacy batch. */
export interface StreamedTable {
  legacy: { sum: bigint; rows: number };
  target: { sum: bigint; rows: number };
  /** False when the target holds rows no legacy batch asked for (only the per-id maps can name those). */
  complete: boolean;
  /** Sessions the service changed since the cutover, left out of both sides: how many, and a bounded sample. */
  changed: { rows: number; samples: string[] };
}

export interface StreamedFingerprints {
  sessions: StreamedTable;
  participants: StreamedTable;
}

const DIGITS = /^[0-9]+$/;

/**
 * The columns the pass decodes: all that `mapLegacySession` checks, parses or maps (every text it could reject a row
 * for) and that `parseParticipantEvent` reads, i.e. each table's but the tenant (the filter's) and a session's
 * externalId (no part of the projection nor of any reject). Decoding the rows is a large share of the migrator's work.
 */
const SESSION_COLUMNS = LEGACY_TABLES.VirtualSession.columns.filter((c) => c !== 'tenantId' && c !== 'externalId');
const EVENT_COLUMNS = LEGACY_TABLES.AuditLog.columns.filter((c) => c !== 'tenantId');

/** Legacy AuditLog ids (bigint as text) in numeric order. */
const byAuditId = (a: LegacyRow, b: LegacyRow): number => {
  const x = a.id ?? '';
  const y = b.id ?? '';
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
};

/**
 * The participant-history rows whose entityId is not digits alone (`' 42'`, `'42\t'`, garbage), or whose entityType
 * names VirtualSession only once trimmed (`' VirtualSession'`): a session's events are read by its id below, on
 * the index, which such a row may trim to without matching it in SQL. They are few (a healthy source has none),
 * read once, by the session id the domain parser will give them, in id order.
 */
async function unplainEvents(legacy: LegacySource, tenantId: string, batchSize: number): Promise<Map<string, LegacyRow[]>> {
  const bySessionId = new Map<string, LegacyRow[]>();
  // By (tenantId, entityType, entityId): the tests read the index alone, not each of the tenant's audit rows (5× less MariaDB CPU);
  // all of the tenant's entries of it, since an entityType spelled with surrounding whitespace sorts anywhere.
  const apart = { notDigits: 'entityId', uncollated: ['entityType'] };
  const options = { tenantId, where: PARTICIPANT_HISTORY, apart, index: 'idx_AuditLog_tenantId_entity', batchSize };
  for await (const batch of legacy.read('AuditLog', options)) {
    for (const row of batch.rows) {
      const id = (row.entityId ?? '').trim();
      const rows = bySessionId.get(id);
      if (rows) rows.push(row);
      else bySessionId.set(id, [row]);
    }
  }
  return bySessionId;
}

/**
 * The participant events of a batch's loaded sessions, in AuditLog id order (the order S1 1.4 folds them
 * in): the rows whose entityId is one of the ids (on the (tenantId, entityType, entityId) index), and the
 * batch's share of the rows read apart. Orphans and events of sessions S1 did not load stay out, as in S1.
 */
async function eventsOf(
  legacy: LegacySource,
  tenantId: string,
  loaded: ReadonlySet<string>,
  unplainRead: Promise<Map<string, LegacyRow[]>>,
  batchSize: number,
): Promise<ParticipantEvent[]> {
  if (loaded.size === 0) return [];
  const rows: LegacyRow[] = [];
  // The filter compares in the legacy collation ('42 ' = '42'): a row that is not digits alone comes from `unplain`, never twice.
  const where = [...PARTICIPANT_HISTORY_BY_ENTITY, { column: 'entityId', in: [...loaded], collated: true }];
  // By (tenantId, entityType, entityId): left to itself the planner walks the tenant's (tenantId, id) order for
  // the `order by id`, examining each of the tenant's audit rows for every batch (105,602 rows per batch of a
  // 25k-session tenant, for 15k sent), so MariaDB's work grew with batches × tenant size. Unordered, in one
  // statement, and sorted here: ordered by id, MariaDB sorted the rows by row id and read each again.
  const options = { tenantId, where, index: 'idx_AuditLog_tenantId_entity', batchSize, unordered: true, columns: EVENT_COLUMNS };
  for await (const page of legacy.read('AuditLog', options)) {
    for (const row of page.rows) if (DIGITS.test(row.entityId ?? '')) rows.push(row);
  }
  const unplain = await unplainRead;
  for (const id of loaded) {
    const apart = unplain.get(id);
    if (!apart) continue;
    rows.push(...apart);
    unplain.delete(id);
  }
  rows.sort(byAuditId);
  const events: ParticipantEvent[] = [];
  for (const row of rows) {
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    if (parsed.kind === 'event' && loaded.has(parsed.event.sessionLegacyId)) events.push(parsed.event);
  }
  return events;
}

/** A batch whose target rows and legacy events are being read. */
interface InFlight {
  lookups: Promise<[BatchDigests, ParticipantEvent[]]>;
  /** What `sessions.reconciled` tallies of the batch's rows, once the target has said which ids it holds. */
  tallied: Pick<LegacyBatch, 'rows' | 'faults'>;
  /** The key digests of the batch's loaded sessions: their participants' shares add the same ones. */
  keys: Map<string, Digest>;
  /** The canonical JSON of each loaded session, summed once the target has said which the service changed since. */
  sessions: Map<string, string>;
}

/** How many of the sessions the service changed since the cutover are named (the rest are counted). */
const CHANGED_SAMPLES = 100;

/**
 * The sessions and participants fingerprints' sums on a MySQL source (ids unique), in one pass over the
 * tenant's legacy sessions a batch at a time: each batch mapped as S1 maps it at the watermark; its loaded
 * sessions' participant events read by session id and folded as S1 1.4 folds them; the target rows of the
 * batch's ids (sessions, and backfilled participants) summed by PostgreSQL (target-digests.ts), found by
 * the (tenant_id, legacy_id) index. Each batch's look-ups run while the previous batch is folded.
 * Memory holds a batch and its events, never the tenant's ids. Once S4's delta sync loaded sessions (`s4`;
 * undefined: read from the target, null: none), the rows it is responsible for are mapped as it maps them
 * (`lateEvents`, likewise: the sessions with participant events past the last fold, see late-events.ts),
 * and a session the service changed since its legacy version is the service's (see `targetBatchDigests`).
 * Rows left to a later sync, and those, are left out of both sides, as the per-id comparison does; counts at
 * the end tell whether the target holds rows no batch asked for.
 */
export async function streamedFingerprints(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  watermark: Date,
  batchSize: number,
  tally?: SessionTally,
  countsOf: TargetCountsOf = tenantTargetCounts(db),
  s4?: DeltaSyncScope | null,
  lateEvents?: ReadonlySet<string> | null,
): Promise<StreamedFingerprints> {
  const scope = s4 === undefined ? await deltaSyncScope(db, tenantId) : (s4 ?? undefined);
  const late = lateEvents === undefined ? await lateEventSessions(db, legacy, tenantId, scope, batchSize) : (lateEvents ?? undefined);
  const changed = { rows: 0, samples: [] as string[] };
  // Rejected for another row's externalId (few): left out of the legacy sums when the target holds no session of the id.
  const clashes = await clashRejectedIds(db, tenantId);
  const sums = { legacySessions: new ShareSum(), targetSessions: new ShareSum(), legacyParticipants: new ShareSum(), targetParticipants: new ShareSum() };
  const met = { sessions: 0, participants: 0 };
  // Counted while the batches run, compared with what the batches met.
  const counts = countsOf(tenantId);
  counts.catch(() => undefined);
  // Read beside the first batches (an index scan of the tenant's participant history, ~0.5 s at 250k sessions),
  // not before them: a batch's events wait for it only when they are merged with their share of it.
  const unplain = unplainEvents(legacy, tenantId, batchSize);
  unplain.catch(() => undefined);
  /** A batch's target rows and legacy events folded into the sums (while the next batch's queries run). */
  const settle = async ({ lookups, tallied, keys, sessions: legacySessions }: InFlight): Promise<void> => {
    const [{ sessions, participants, absent: absentIds, changed: changedIds }, events] = await lookups;
    const absent = new Set(absentIds);
    if (tally) tally.add(tallied, new Set(tallied.rows.map((r) => (r.id ?? '').trim()).filter((id) => !absent.has(id))));
    const changedHere = new Set(changedIds);
    changed.rows += changedHere.size;
    for (const id of changedIds) if (changed.samples.length < CHANGED_SAMPLES) changed.samples.push(id);
    // Out of this batch's legacy sums: sessions the service changed since, and clash rejects the target rightly lacks.
    const left = (id: string) => !changedHere.has(id) && !(clashes.has(id) && absent.has(id));
    for (const [id, json] of legacySessions) if (left(id)) sums.legacySessions.addKeyed(keys.get(id)!, json);
    met.sessions += sessions.met;
    sums.targetSessions.addByteSums(sessions.byteSums, sessions.rows);
    met.participants += participants.met;
    sums.targetParticipants.addByteSums(participants.byteSums, participants.rows);
    for (const [id, json] of participantsJsonBySession(groupParticipantEvents(events)))
      if (left(id)) sums.legacyParticipants.addKeyed(keys.get(id) ?? keyDigestOf(JSON.stringify(id)), json);
  };
  let previous: InFlight | undefined;
  try {
    for await (const batch of legacy.read('VirtualSession', { tenantId, batchSize, columns: SESSION_COLUMNS })) {
      const ids: string[] = [];
      const loaded = new Set<string>();
      const deferred = new Set<string>();
      const keys = new Map<string, Digest>();
      const sessions = new Map<string, string>();
      const updatedAt: Record<string, string> = {};
      for (const row of batch.rows) {
        const id = (row.id ?? '').trim();
        ids.push(id);
        const mapping = mapInScope(row as unknown as LegacyVirtualSession, watermark, scope, tenantId, late);
        if (mapping.kind === 'deferred') deferred.add(id);
        if (mapping.kind !== 'load') continue;
        const legacyId = mapping.session.legacyId;
        // An upcoming session S4 loaded `scheduled` has no participants from legacy (its refold skips it).
        if (foldsParticipants(mapping.session.status)) loaded.add(legacyId);
        keys.set(legacyId, keyDigestOf(JSON.stringify(legacyId)));
        sessions.set(legacyId, sessionJson(sessionProjection(mapping.session)));
        // Before the cutover the service has written no session: nothing to ask the target about.
        if (scope) updatedAt[legacyId] = mapping.session.updatedAt.toISOString();
      }
      const lookups = Promise.all([
        targetBatchDigests(db, tenantId, ids, [...deferred], scope ? updatedAt : undefined),
        eventsOf(legacy, tenantId, loaded, unplain, batchSize),
      ]);
      // Settled later; a failure surfaces there (or in the finally below), not as an unhandled rejection.
      lookups.catch(() => undefined);
      if (previous) await settle(previous);
      const tallied = {
        rows: tally
          ? batch.rows.map((r) => ({
              id: r.id ?? null,
              scheduledStart: r.scheduledStart ?? null,
              createdAt: r.createdAt ?? null,
              updatedAt: r.updatedAt ?? null,
            }))
          : [],
        faults: batch.faults,
      };
      previous = { lookups, tallied, keys, sessions };
    }
    if (previous) await settle(previous);
    // A failed read is the pass's failure even when no batch had a session to merge its rows with.
    await unplain;
    tally?.end();
  } finally {
    // A batch in flight when another failed: let its queries finish before the caller closes the pools.
    await Promise.all([previous?.lookups.catch(() => undefined), unplain.catch(() => undefined)]);
  }
  const count = await counts;
  const side = (s: ShareSum) => ({ sum: s.sum, rows: s.rows });
  return {
    sessions: { legacy: side(sums.legacySessions), target: side(sums.targetSessions), complete: count.sessions === met.sessions, changed },
    participants: {
      legacy: side(sums.legacyParticipants),
      target: side(sums.targetParticipants),
      complete: count.participants === met.participants,
      changed,
    },
  };
}
