import { groupParticipantEvents, parseParticipantEvent, type LegacyAuditLog, type ParticipantAggregate } from '@vc/domain/legacy';
import { describe, expect, it } from 'vitest';
import { decodeRows, type CopyRows } from '../../engine/copy-text';
import type { Batch, Checkpoint, StepContext, Tx } from '../../engine/types';
import type { LegacyBatch, LegacySource, ReadOptions } from '../../legacy/types';
import { participantsStep } from './1.4-participants';

/**
 * 1.4's default fold (no pushdown) commits pipelined: batch n+1 is read, looked up and grouped while batch n
 * commits. Against an in-memory engine (commits in batch order, each with its checkpoint, the upsert's SQL
 * merge re-stated below) the rows equal the serial fold of every event at once, also after a stop or a crash.
 */
const LOADED = new Map([
  ['S1', 'u1'],
  ['S2', 'u2'],
  ['S3', 'u3'],
]);
const row = (id: number, entityId: string, action: 'joined' | 'left', actorRef: string, at: string, extra: Partial<LegacyAuditLog> = {}): LegacyAuditLog => ({
  id: String(id),
  tenantId: 't',
  entityType: 'VirtualSession',
  entityId,
  action: `participant.${action}`,
  actorRef,
  actorDisplay: null,
  payload: null,
  occurredAt: `2026-05-01 ${at}:00`,
  ...extra,
});
// Batches of 3: participants span batches; Patient/1 has a tied first join (the earlier batch keeps role and name) and
// rejoins in a later batch after their leave; RelatedPerson/3's latest join is in the earlier batch.
const ROWS: LegacyAuditLog[] = [
  row(1, 'S1', 'joined', 'Patient/1', '10:00', { payload: '{"role":"patient"}', actorDisplay: 'Ann' }),
  row(2, 'S1', 'joined', 'Practitioner/7', '10:01'),
  row(3, 'S9', 'joined', 'Patient/2', '10:02'),
  row(4, 'S1', 'left', 'Patient/1', '10:30'),
  row(5, 'S2', 'joined', 'RelatedPerson/3', '11:00', { payload: '{"role":"interpreter"}', actorDisplay: 'Later' }),
  row(6, 'S1', 'joined', 'Patient/1', '10:00', { payload: '{"role":"caregiver"}', actorDisplay: 'Tie' }),
  row(7, 'S2', 'joined', 'RelatedPerson/3', '10:59', { actorDisplay: 'Earlier' }),
  row(8, 'S1', 'joined', 'Patient/1', '10:50'),
  row(9, 'S3', 'left', 'Patient/4', '12:00'),
  row(10, 'S2', 'left', 'RelatedPerson/3', '11:30'),
];

/** One row of session_participants as the test compares it. */
type Participant = Pick<ParticipantAggregate, 'role' | 'roleJoinedAt' | 'displayName' | 'firstJoinedAt' | 'lastLeftAt' | 'lastJoinedAt' | 'joinCount'>;
const earlierJoin = (incoming: Participant, stored: Participant) =>
  incoming.firstJoinedAt !== null && (stored.firstJoinedAt === null || incoming.firstJoinedAt < stored.firstJoinedAt);
const earlierRole = (incoming: Participant, stored: Participant) =>
  incoming.roleJoinedAt !== null && (stored.roleJoinedAt === null || incoming.roleJoinedAt < stored.roleJoinedAt);
const least = (a: Date | null, b: Date | null) => (a && b ? (a < b ? a : b) : (a ?? b));
const greatest = (a: Date | null, b: Date | null) => (a && b ? (a > b ? a : b) : (a ?? b));

/**
 * participant-rows.ts's `on conflict do update`, row by row: strict earlier join takes the name, strict earlier join
 * naming a known role the role.
 */
function upsert(table: Map<string, Participant>, key: string, p: Participant) {
  const s = table.get(key);
  if (!s) return void table.set(key, p);
  const take = earlierJoin(p, s);
  const takeRole = earlierRole(p, s);
  table.set(key, {
    role: takeRole ? p.role : s.role,
    roleJoinedAt: least(s.roleJoinedAt, p.roleJoinedAt),
    displayName: take ? p.displayName : s.displayName,
    firstJoinedAt: least(s.firstJoinedAt, p.firstJoinedAt),
    lastLeftAt: greatest(s.lastLeftAt, p.lastLeftAt),
    lastJoinedAt: greatest(s.lastJoinedAt, p.lastJoinedAt),
    joinCount: s.joinCount + p.joinCount,
  });
}

function csvSource(): LegacySource {
  async function* read(_table: string, options: ReadOptions): AsyncIterable<LegacyBatch> {
    const start = options.after === null || options.after === undefined ? 0 : Number(options.after);
    for (let i = start; i < ROWS.length; i += options.batchSize) {
      const rows = ROWS.slice(i, i + options.batchSize);
      yield { rows: rows as unknown as LegacyBatch['rows'], position: String(i + rows.length), ordinals: rows.map((r) => r.id) };
    }
  }
  return { kind: 'csv', description: 'memory', tenants: async () => ['t'], count: async () => undefined, read, close: async () => undefined };
}

/** The engine, in memory: commits one after another (awaiting a turn of the event loop), each with its checkpoint. */
function engine(table: Map<string, Participant>, hooks: { onLookup?: (n: number) => void; failAt?: string } = {}) {
  const log: string[] = [];
  const state = {
    inflight: 0,
    maxInflight: 0,
    lookups: 0,
    checkpoint: { status: 'running', cursor: null, read: 0, written: 0, rejected: 0, deferred: 0, warnings: {}, facts: {} } as Checkpoint,
  };
  const controller = new AbortController();
  const commit = async (batch: Batch) => {
    const name = String(batch.cursor.position ?? batch.cursor.stage);
    log.push(`start ${name}`);
    state.maxInflight = Math.max(state.maxInflight, ++state.inflight);
    const pending: Array<[string, Participant]> = [];
    const tx = {
      query: async () => [],
      // The batch's rows, COPYed into the staging table the upsert merges from (as PostgreSQL reads the COPY text).
      insertMany: async (_t: string, _c: readonly string[], rows: CopyRows) => {
        const at = (text: string | null) => (text === null ? null : new Date(text));
        for (const [sessionId, , ref, role, displayName, firstJoinedAt, lastLeftAt, lastJoinedAt, joinCount, roleJoinedAt] of decodeRows(rows))
          pending.push([
            `${sessionId}|${ref}`,
            {
              role,
              roleJoinedAt: at(roleJoinedAt!),
              displayName,
              firstJoinedAt: at(firstJoinedAt!),
              lastLeftAt: at(lastLeftAt!),
              lastJoinedAt: at(lastJoinedAt!),
              joinCount: Number(joinCount),
            } as Participant,
          ]);
        return rows.lines.length;
      },
    } as unknown as Tx;
    await batch.write?.(tx);
    await new Promise((resolve) => setImmediate(resolve));
    state.inflight--;
    if (name === hooks.failAt) throw new Error(`commit of ${name} failed`);
    for (const [key, p] of pending) upsert(table, key, p);
    state.checkpoint = { ...state.checkpoint, cursor: batch.cursor, read: state.checkpoint.read + batch.read };
    log.push(`end ${name}`);
  };
  const query = async (text: string, params: unknown[]) => {
    if (!text.includes('legacy_id = any')) return text.includes('count(*)') ? [{ n: table.size }] : [];
    log.push(`lookup ${++state.lookups}`);
    hooks.onLookup?.(state.lookups);
    return (params[1] as string[]).filter((id) => LOADED.has(id)).map((id) => ({ legacy_id: id, id: LOADED.get(id) }));
  };
  const ctx = {
    tenantId: 't',
    options: { batchSize: 3 },
    signal: controller.signal,
    query,
    commit,
    progress: () => undefined,
    services: { legacy: async () => csvSource() },
  } as unknown as StepContext;
  return { ctx, log, state, stop: () => controller.abort() };
}

/** The serial fold: every event of a loaded session folded at once by the domain, keyed as the table is. */
function serialFold(): Map<string, Participant> {
  const events = ROWS.map((r) => parseParticipantEvent(r)).flatMap((p) => (p.kind === 'event' && LOADED.has(p.event.sessionLegacyId) ? [p.event] : []));
  return new Map(
    groupParticipantEvents(events).map((a) => [
      `${LOADED.get(a.sessionLegacyId)}|${a.actorRef}`,
      {
        role: a.role,
        roleJoinedAt: a.roleJoinedAt,
        displayName: a.displayName,
        firstJoinedAt: a.firstJoinedAt,
        lastLeftAt: a.lastLeftAt,
        lastJoinedAt: a.lastJoinedAt,
        joinCount: a.joinCount,
      },
    ]),
  );
}

const sorted = (table: Map<string, Participant>) => [...table.entries()].sort(([a], [b]) => a.localeCompare(b));

describe('1.4 default fold, pipelined', () => {
  it('looks up batch n+1 while batch n commits, one commit at a time in batch order, and writes the serial fold', async () => {
    const table = new Map<string, Participant>();
    const { ctx, log, state } = engine(table);
    await participantsStep.run(ctx, { ...state.checkpoint, status: 'pending' });
    expect(state.maxInflight).toBe(1);
    expect(log.filter((l) => l.startsWith('end'))).toEqual(['end events', 'end 3', 'end 6', 'end 9', 'end 10', 'end settled']);
    // The overlap itself: batch n+1's lookup comes before batch n's commit ends.
    for (const [next, prev] of [
      [2, 3],
      [3, 6],
      [4, 9],
    ] as const)
      expect(log.indexOf(`lookup ${next}`)).toBeLessThan(log.indexOf(`end ${prev}`));
    expect(sorted(table)).toEqual(sorted(serialFold()));
    expect(table.get('u1|Patient/1')).toMatchObject({
      role: 'patient',
      displayName: 'Ann',
      joinCount: 3,
      lastLeftAt: new Date('2026-05-01T10:30:00Z'),
      lastJoinedAt: new Date('2026-05-01T10:50:00Z'),
    });
    // Its first join (10:59, batch 3) names no role; its later one (11:00, batch 2) names `interpreter`, which wins.
    expect(table.get('u2|RelatedPerson/3')).toMatchObject({
      role: 'interpreter',
      displayName: 'Earlier',
      joinCount: 2,
      lastJoinedAt: new Date('2026-05-01T11:00:00Z'),
    });
  });

  it('stopped while a batch commits, returns once it has committed and resumes after it to the same rows', async () => {
    const table = new Map<string, Participant>();
    const first = engine(table, { onLookup: (n) => n === 2 && first.stop() });
    await participantsStep.run(first.ctx, { ...first.state.checkpoint, status: 'pending' });
    expect(first.state.inflight).toBe(0);
    expect(first.state.checkpoint.cursor).toEqual({ stage: 'events', position: '6' });
    const second = engine(table);
    await participantsStep.run(second.ctx, first.state.checkpoint);
    expect(second.log.filter((l) => l.startsWith('end'))).toEqual(['end 9', 'end 10', 'end settled']);
    expect(sorted(table)).toEqual(sorted(serialFold()));
  });

  it('a commit that fails (a crash) leaves the checkpoint on the last committed batch; resuming from it gives the same rows', async () => {
    const table = new Map<string, Participant>();
    const first = engine(table, { failAt: '9' });
    await expect(participantsStep.run(first.ctx, { ...first.state.checkpoint, status: 'pending' })).rejects.toThrow('commit of 9 failed');
    expect(first.state.inflight).toBe(0);
    expect(first.state.checkpoint.cursor).toEqual({ stage: 'events', position: '6' });
    const second = engine(table);
    await participantsStep.run(second.ctx, first.state.checkpoint);
    expect(sorted(table)).toEqual(sorted(serialFold()));
  });
});
