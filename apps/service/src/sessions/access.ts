import type { VirtualSession } from '@vc/schema';
import type { Principal } from '../auth/principal';
import { hasRole } from '../auth/principal';
import type { Executor } from '../db';
import { notFound } from '../errors';
import { findSession, findSessionForJoin, findSessionViewJson, type SessionViewJson } from './repo';

/**
 * The one way a handler gets a session: scoped to the caller's tenant, and for a patient-only caller to
 * sessions they are the patient of. Anything else is the same 404 a missing id gets, so a caller learns
 * nothing about sessions that are not theirs.
 */
export async function loadSessionFor(db: Executor, principal: Principal, id: string, options: { lock?: boolean } = {}): Promise<VirtualSession> {
  const session = await findSession(db, principal.tenant, id, options);
  if (!session || !canSee(principal, session)) throw notFound('session');
  return session;
}

/** `loadSessionFor` for a reply that only shows the session: its API view as JSON text (`findSessionViewJson`). */
export async function loadSessionViewFor(db: Executor, principal: Principal, id: string): Promise<SessionViewJson> {
  const view = await findSessionViewJson(db, principal.tenant, id);
  if (!view || !canSee(principal, view)) throw notFound('session');
  return view;
}

/** `loadSessionFor` plus the pseudonym the caller already has in the session (null: none yet). */
export async function loadSessionForJoin(
  db: Executor,
  principal: Principal,
  id: string,
  options: { lock?: boolean } = {},
): Promise<{ session: VirtualSession; pseudonym: string | null }> {
  const found = await findSessionForJoin(db, principal.tenant, id, principal.sub, options);
  if (!found || !canSee(principal, found.session)) throw notFound('session');
  return found;
}

export function canSee(principal: Principal, session: Pick<VirtualSession, 'patientRef'>): boolean {
  if (hasRole(principal, 'vc:admin', 'vc:practitioner')) return true;
  return hasRole(principal, 'vc:patient') && session.patientRef === principal.sub;
}
