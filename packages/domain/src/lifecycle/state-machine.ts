/**
 * The VirtualSession state machine (docs/design.md §3, §7). Values in, values out: the service asks whether a
 * transition is allowed and what it changes, then writes it with an optimistic version check.
 */

/** Mirrors the `session_status` enum of the schema (domain imports nothing of ours, so it is restated). */
export const SESSION_STATUSES = ['scheduled', 'waiting', 'in_progress', 'ended', 'cancelled'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Who acts on a session, as far as the lifecycle cares. */
export type SessionActorRole = 'patient' | 'practitioner';

export type SessionAction = { kind: 'join'; role: SessionActorRole } | { kind: 'leave' } | { kind: 'end' } | { kind: 'cancel'; reason: string };

/** What a permitted transition changes; `startedAt`/`endedAt` are set only when they change. */
export interface TransitionChange {
  from: SessionStatus;
  to: SessionStatus;
  startedAt?: Date;
  endedAt?: Date;
  cancelReason?: string;
  /** True when `to` differs from `from` (a join into a running session changes nothing). */
  statusChanged: boolean;
}

export type TransitionResult =
  { ok: true; change: TransitionChange } | { ok: false; reason: 'invalid_transition'; from: SessionStatus; action: SessionAction['kind'] };

export const TERMINAL_STATUSES: ReadonlySet<SessionStatus> = new Set(['ended', 'cancelled']);

/** True once a session can no longer change (ended or cancelled). */
export function isTerminal(status: SessionStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

function refuse(from: SessionStatus, action: SessionAction): TransitionResult {
  return { ok: false, reason: 'invalid_transition', from, action: action.kind };
}

function same(from: SessionStatus): TransitionResult {
  return { ok: true, change: { from, to: from, statusChanged: false } };
}

function join(from: SessionStatus, role: SessionActorRole, now: Date): TransitionResult {
  // A patient arriving first puts the session in the waiting room; the practitioner's join starts it.
  if (role === 'practitioner') {
    if (from === 'scheduled' || from === 'waiting') {
      return { ok: true, change: { from, to: 'in_progress', startedAt: now, statusChanged: true } };
    }
    return from === 'in_progress' ? same(from) : refuse(from, { kind: 'join', role });
  }
  if (from === 'scheduled') return { ok: true, change: { from, to: 'waiting', statusChanged: true } };
  return from === 'waiting' || from === 'in_progress' ? same(from) : refuse(from, { kind: 'join', role });
}

/**
 * Decides a transition. `scheduled → waiting` (patient joins), `scheduled|waiting → in_progress`
 * (practitioner joins, sets startedAt), `waiting|in_progress → ended` (sets endedAt; a waiting session
 * that is ended never started, so startedAt stays null), `scheduled|waiting → cancelled` with a reason.
 * Leaving is allowed while the session is open and changes no status. Terminal states refuse everything.
 */
export function transition(from: SessionStatus, action: SessionAction, now: Date): TransitionResult {
  switch (action.kind) {
    case 'join':
      return join(from, action.role, now);
    case 'leave':
      return from === 'waiting' || from === 'in_progress' ? same(from) : refuse(from, action);
    case 'end':
      return from === 'waiting' || from === 'in_progress'
        ? { ok: true, change: { from, to: 'ended', endedAt: now, statusChanged: true } }
        : refuse(from, action);
    case 'cancel':
      return from === 'scheduled' || from === 'waiting'
        ? { ok: true, change: { from, to: 'cancelled', cancelReason: action.reason, statusChanged: true } }
        : refuse(from, action);
  }
}
