import { hasRole } from '../auth/principal';
import type { AppContext } from '../context';
import { defineRoute, type Route } from '../http/route-table';
import { loadSessionFor, loadSessionViewFor } from './access';
import { createSession } from './create';
import { decodeCursor, encodeCursor } from './cursor';
import { cancelSession, endSession } from './end';
import { joinSession, leaveSession } from './join';
import { listParticipants, listSessions } from './repo';
import {
  cancelBody,
  createSessionBody,
  emptyBody,
  joinBody,
  joinReply,
  listSessionsQuery,
  participantsReply,
  sessionIdParams,
  sessionPageReply,
  sessionReply,
} from './schemas';
import { participantView, sessionView } from './view';

const ANY_CALLER = ['vc:admin', 'vc:practitioner', 'vc:patient'] as const;
const OWN_ONLY = 'A patient sees only the sessions they are the patient of; any other is a 404, like a missing one.';

/** `/sessions`: each handler gets the parsed request, calls one use-case, shapes the reply. */
export function sessionRoutes(ctx: AppContext): Route[] {
  return [
    defineRoute({
      operationId: 'createSession',
      method: 'post',
      path: '/sessions',
      tag: 'sessions',
      summary: 'Schedule a session',
      roles: ['vc:practitioner'],
      body: createSessionBody,
      replies: {
        201: {
          description: 'the scheduled session',
          schema: sessionReply,
          headers: { Location: { description: 'the session URL', schema: { type: 'string' } } },
        },
      },
      // Shadow mode only: the appointment is a session the migrator already loaded from legacy.
      errors: ['slot_migrated'],
      async handle({ principal, body, baseUrl, storeReplyInTx }) {
        const location = (id: string) => ({ location: `${baseUrl}/sessions/${id}` });
        const session = await createSession(ctx, principal, body, (tx, created) => storeReplyInTx(tx, 201, sessionView(created), location(created.id)));
        return { status: 201, body: sessionView(session), headers: location(session.id) };
      },
    }),

    defineRoute({
      operationId: 'listSessions',
      method: 'get',
      path: '/sessions',
      tag: 'sessions',
      summary: 'List sessions (newest first, cursor pagination)',
      description: OWN_ONLY,
      roles: ANY_CALLER,
      query: listSessionsQuery,
      replies: { 200: { description: 'a page of sessions', schema: sessionPageReply } },
      async handle({ principal, query }) {
        const patientOnly = !hasRole(principal, 'vc:admin', 'vc:practitioner');
        const rows = await listSessions(
          ctx.db,
          principal.tenant,
          {
            status: query.status,
            from: query.from ? new Date(query.from) : undefined,
            to: query.to ? new Date(query.to) : undefined,
            patientRef: query.patientRef,
            practitionerRef: query.practitionerRef,
            onlyPatientRef: patientOnly ? principal.sub : undefined,
          },
          query.cursor ? decodeCursor(query.cursor) : undefined,
          query.limit + 1,
        );
        const page = rows.slice(0, query.limit);
        const last = page.at(-1);
        return { status: 200, body: { items: page.map(sessionView), nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null } };
      },
    }),

    defineRoute({
      operationId: 'getSession',
      method: 'get',
      path: '/sessions/:id',
      tag: 'sessions',
      summary: 'Read a session',
      description: OWN_ONLY,
      roles: ANY_CALLER,
      params: sessionIdParams,
      replies: { 200: { description: 'the session', schema: sessionReply } },
      errors: ['not_found'],
      async handle({ principal, params }) {
        return { status: 200, json: (await loadSessionViewFor(ctx.db, principal, params.id)).json };
      },
    }),

    defineRoute({
      operationId: 'listParticipants',
      method: 'get',
      path: '/sessions/:id/participants',
      tag: 'sessions',
      summary: 'List participants',
      description: OWN_ONLY,
      roles: ANY_CALLER,
      params: sessionIdParams,
      replies: { 200: { description: "the session's participants", schema: participantsReply } },
      errors: ['not_found'],
      async handle({ principal, params }) {
        const session = await loadSessionFor(ctx.db, principal, params.id);
        const rows = await listParticipants(ctx.db, session.tenantId, session.id);
        return { status: 200, body: { items: rows.map(participantView) } };
      },
    }),

    defineRoute({
      operationId: 'joinSession',
      method: 'post',
      path: '/sessions/:id/join',
      tag: 'sessions',
      summary: 'Join: Jitsi URL and short-lived token',
      description: 'Patients need an active telehealth consent (403 consent-required with `reason`); access-policy down is a 503.',
      roles: ['vc:practitioner', 'vc:patient'],
      params: sessionIdParams,
      body: joinBody,
      replies: { 200: { description: 'where and how to join', schema: joinReply } },
      errors: [
        'not_found',
        'consent_required',
        'virtual_care_disabled',
        'invalid_transition',
        'version_conflict',
        'tenant_not_configured',
        'dependency_unavailable',
      ],
      async handle({ principal, params, body, replyClaim }) {
        return { status: 200, body: await joinSession(ctx, principal, params.id, body.displayName, replyClaim()) };
      },
    }),

    defineRoute({
      operationId: 'leaveSession',
      method: 'post',
      path: '/sessions/:id/leave',
      tag: 'sessions',
      summary: 'Leave (409 if the caller never joined)',
      roles: ['vc:practitioner', 'vc:patient'],
      params: sessionIdParams,
      body: emptyBody,
      replies: { 200: { description: 'the session after the leave', schema: sessionReply } },
      errors: ['not_found', 'invalid_transition', 'version_conflict'],
      async handle({ principal, params, storeReplyInTx }) {
        const session = await leaveSession(ctx, principal, params.id, (tx, left) => storeReplyInTx(tx, 200, sessionView(left)));
        return { status: 200, body: sessionView(session) };
      },
    }),

    defineRoute({
      operationId: 'endSession',
      method: 'post',
      path: '/sessions/:id/end',
      tag: 'sessions',
      summary: 'End: audit, billing, CloudEvents and the FHIR Encounter in one transaction',
      roles: ['vc:practitioner'],
      params: sessionIdParams,
      body: emptyBody,
      replies: { 200: { description: 'the ended session', schema: sessionReply } },
      errors: ['not_found', 'invalid_transition', 'version_conflict'],
      async handle({ principal, params, storeReplyInTx }) {
        return { status: 200, body: sessionView(await endSession(ctx, principal, params.id, (tx, ended) => storeReplyInTx(tx, 200, sessionView(ended)))) };
      },
    }),

    defineRoute({
      operationId: 'cancelSession',
      method: 'post',
      path: '/sessions/:id/cancel',
      tag: 'sessions',
      summary: 'Cancel a session that has not started',
      roles: ['vc:practitioner'],
      params: sessionIdParams,
      body: cancelBody,
      replies: { 200: { description: 'the cancelled session', schema: sessionReply } },
      errors: ['not_found', 'invalid_transition', 'version_conflict'],
      async handle({ principal, params, body, storeReplyInTx }) {
        return {
          status: 200,
          body: sessionView(await cancelSession(ctx, principal, params.id, body.reason, (tx, cancelled) => storeReplyInTx(tx, 200, sessionView(cancelled)))),
        };
      },
    }),
  ];
}
