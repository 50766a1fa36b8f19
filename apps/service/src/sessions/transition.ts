import { type SessionAction, transition, type TransitionChange } from '@vc/domain/lifecycle';
import type { Database, VirtualSession } from '@vc/schema';
import type { Principal } from '../auth/principal';
import type { Tx } from '../db';
import { AppError } from '../errors';
import { loadSessionFor } from './access';
import { type SessionChanges, updateSessionVersioned } from './repo';

export interface TransitionOutcome<T> {
  session: VirtualSession;
  change: TransitionChange;
  result: T;
}

export interface TransitionRequest<T> {
  db: Database;
  principal: Principal;
  sessionId: string;
  /** The session as the caller already loaded it (access checked): saves the first read. */
  seen?: VirtualSession;
  action: SessionAction;
  now: Date;
  /** Writes what goes with the transition (participant, audit, billing, outbox) in the same transaction. */
  effects: (tx: Tx, session: VirtualSession, change: TransitionChange) => Promise<T>;
  /** Joins and leaves do not compete with each other: retry them on a version race; end/cancel do not. */
  retryOnConflict?: number;
  /** Runs last in the transaction, after the effects: where a keyed request stores its reply. */
  within?: (tx: Tx, session: VirtualSession, result: T) => Promise<void>;
}

/** The state machine's decision on a session as read; an action it refuses is the 409 problem. */
export function decide(session: VirtualSession, action: SessionAction, now: Date): TransitionChange {
  const decision = transition(session.status, action, now);
  if (!decision.ok) throw refused(session, action);
  return decision.change;
}

/** The columns a transition changes, as `updateSessionVersioned` and the join statement write them. */
export function changedColumns(change: TransitionChange): SessionChanges {
  return {
    ...(change.statusChanged ? { status: change.to } : {}),
    ...(change.startedAt ? { startedAt: change.startedAt } : {}),
    ...(change.endedAt ? { endedAt: change.endedAt } : {}),
    ...(change.cancelReason ? { cancelReason: change.cancelReason } : {}),
  };
}

/** A lost race the caller may not retry any more. */
export function versionConflict(action: SessionAction): AppError {
  return new AppError('version_conflict', `session changed concurrently while trying to ${action.kind}`, { extensions: { action: action.kind } });
}

function refused(session: VirtualSession, action: SessionAction): AppError {
  // `sessionStatus`, not `status`: RFC 9457's `status` is the HTTP code and must stay an integer.
  const state = session.status.replace(/_/g, ' ');
  return new AppError('invalid_transition', `${/^[aeiou]/.test(state) ? 'an' : 'a'} ${state} session cannot ${action.kind}`, {
    extensions: { sessionStatus: session.status, action: action.kind },
  });
}

/**
 * Runs one lifecycle transition: decide it with the domain state machine, write it with
 * `UPDATE … WHERE version = seen`, and its effects, in one transaction. A lost race is a 409, unless the
 * action retries: the retry reads the row `FOR UPDATE` inside its transaction, so it decides on the
 * current state and cannot lose again (many joins of one session, e.g. a patient reconnecting from two
 * devices, queue on the row lock instead of failing after a few optimistic retries).
 */
export async function runTransition<T>(req: TransitionRequest<T>): Promise<TransitionOutcome<T>> {
  for (let attempt = 0; ; attempt += 1) {
    const locked = attempt > 0;
    // The first attempt is optimistic (no lock, no extra round trip when nobody races it).
    const unlocked = locked ? undefined : (req.seen ?? (await loadSessionFor(req.db, req.principal, req.sessionId)));
    const outcome = await req.db.transaction(async (tx) => {
      const seen = unlocked ?? (await loadSessionFor(tx, req.principal, req.sessionId, { lock: true }));
      const change = decide(seen, req.action, req.now);
      const updated = await updateSessionVersioned(tx, seen, changedColumns(change), req.now);
      if (!updated) return undefined;
      const result = await req.effects(tx, updated, change);
      await req.within?.(tx, updated, result);
      return { session: updated, change, result };
    });
    if (outcome) return outcome;
    if (attempt >= (req.retryOnConflict ?? 0)) throw versionConflict(req.action);
  }
}
