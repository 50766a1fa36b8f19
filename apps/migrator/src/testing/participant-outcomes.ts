import type pg from 'pg';

/**
 * Test support, written from docs/design.md §5 (participants), not from the fold's code: every legacy
 * participant event of a tenant is either rejected (a reject row keyed by its audit id, in any phase) or
 * folded, and a folded event shows in its participant row. Per (session, actor) the row holds exactly the
 * events not rejected: join_count = their joins, first_joined_at = the earliest join, last_left_at = the
 * latest leave, last_joined_at = the latest join. So an event dropped silently changes a count or an instant and fails the check, even when
 * the actor already had a row (a mere "the participant exists" check would pass). No row may exist that no
 * event explains.
 */
export interface SourceEvent {
  id: string;
  entityId: string | null;
  action: string | null;
  actorRef: string | null;
  occurredAt: string | null;
}

/** §4's datetime form, UTC. An event that is not rejected must carry one (else it is `invalid_datetime`). */
function instant(raw: string | null, id: string): Date {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)\d*Z?$/.exec((raw ?? '').trim());
  if (!m) throw new Error(`AuditLog ${id} was folded although its occurredAt is not a §4 datetime`);
  return new Date(`${m[1]}T${m[2]}Z`);
}

interface Expected {
  joins: number;
  first: Date | null;
  last: Date | null;
  lastJoin: Date | null;
  events: string[];
}

const earlier = (a: Date | null, b: Date) => (a === null || b < a ? b : a);
const later = (a: Date | null, b: Date) => (a === null || b > a ? b : a);

/** The participant rows the events not rejected must give, keyed `legacy session id␠actorRef`. */
function expectedParticipants(events: readonly SourceEvent[], rejected: ReadonlySet<string>, deferred: ReadonlySet<string>): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const e of events) {
    if (rejected.has(e.id.trim()) || deferred.has((e.entityId ?? '').trim())) continue;
    const k = `${(e.entityId ?? '').trim()} ${(e.actorRef ?? '').trim()}`;
    const x = out.get(k) ?? { joins: 0, first: null, last: null, lastJoin: null, events: [] };
    const at = instant(e.occurredAt, e.id);
    if ((e.action ?? '').trim() === 'participant.joined') {
      x.joins += 1;
      x.first = earlier(x.first, at);
      x.lastJoin = later(x.lastJoin, at);
    } else x.last = later(x.last, at);
    x.events.push(e.id);
    out.set(k, x);
  }
  return out;
}

/** Audit ids with a reject of the tenant, any phase (a row rejected by S1 is not rejected again by S4). */
export async function rejectedAuditIds(client: pg.Client, tenant: string): Promise<Set<string>> {
  const rows = await client.query<{ id: string }>(
    `select raw->>'id' as id from vc_migration.rejects where tenant_id = $1 and raw ? 'entityId' and raw ? 'actorRef'`,
    [tenant],
  );
  return new Set(rows.rows.map((r) => (r.id ?? '').trim()));
}

/**
 * Checks every event's outcome against the target; returns how many events were folded, rejected and
 * deferred (the caller checks folded + rejected + deferred = read against the step's checkpoint).
 * `deferredSessions`: legacy ids of sessions still upcoming, whose events are left for a later phase.
 */
export async function checkParticipantEvents(
  client: pg.Client,
  tenant: string,
  events: readonly SourceEvent[],
  deferredSessions: ReadonlySet<string> = new Set(),
): Promise<{ folded: number; rejected: number; deferred: number }> {
  const rejected = await rejectedAuditIds(client, tenant);
  const expected = expectedParticipants(events, rejected, deferredSessions);
  const rows = await client.query<{ k: string; join_count: number; first_joined_at: Date | null; last_left_at: Date | null; last_joined_at: Date | null }>(
    `select s.legacy_id || ' ' || p.participant_ref as k, p.join_count, p.first_joined_at, p.last_left_at, p.last_joined_at
       from session_participants p join virtual_sessions s on s.id = p.session_id where p.tenant_id = $1`,
    [tenant],
  );
  type Row = { joins: number; first: Date | null; last: Date | null; lastJoin: Date | null };
  const iso = (at: Date | null) => at?.toISOString() ?? null;
  const shown = (v: Row | undefined) =>
    JSON.stringify(v ? { joins: v.joins, first: iso(v.first), last: iso(v.last), lastJoin: iso(v.lastJoin) } : 'no participant');
  const actual = new Map<string, Row>(
    rows.rows.map((r) => [r.k, { joins: r.join_count, first: r.first_joined_at, last: r.last_left_at, lastJoin: r.last_joined_at }]),
  );
  // Every key either side, so a failure names the (session, actor), its events, and what should be there.
  const wrong = [...new Set([...expected.keys(), ...actual.keys()])].filter((k) => shown(expected.get(k)) !== shown(actual.get(k)));
  if (wrong.length > 0) {
    const detail = wrong.map(
      (k) => `${JSON.stringify(k)} (events ${expected.get(k)?.events.join(',') ?? 'none'}): want ${shown(expected.get(k))}, got ${shown(actual.get(k))}`,
    );
    throw new Error(`participant events neither folded into their participant nor rejected:\n${detail.join('\n')}`);
  }
  const folded = [...expected.values()].reduce((n, x) => n + x.events.length, 0);
  const rejectedCount = events.filter((e) => rejected.has(e.id.trim())).length;
  return { folded, rejected: rejectedCount, deferred: events.length - folded - rejectedCount };
}
