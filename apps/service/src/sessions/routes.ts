import { Router } from 'express';
import { hasRole } from '../auth/principal';
import { requireRole } from '../auth/authenticate';
import type { AppContext } from '../context';
import { parse } from '../http/validate';
import { loadSessionFor } from './access';
import { createSession } from './create';
import { decodeCursor, encodeCursor } from './cursor';
import { cancelSession, endSession } from './end';
import { joinSession, leaveSession } from './join';
import { listParticipants, listSessions } from './repo';
import { cancelBody, createSessionBody, emptyBody, joinBody, listSessionsQuery, sessionIdParams } from './schemas';
import { participantView, sessionView } from './view';

/** `/sessions`: each handler parses with zod, calls one use-case, shapes the reply. */
export function sessionsRouter(ctx: AppContext): Router {
  const router = Router();

  router.post('/sessions', async (req, res) => {
    const principal = requireRole(res, 'vc:practitioner');
    const body = parse(createSessionBody, req.body, 'body');
    const session = await createSession(ctx, principal, body);
    res.status(201).location(`${req.baseUrl}/sessions/${session.id}`).json(sessionView(session));
  });

  router.get('/sessions', async (req, res) => {
    const principal = requireRole(res, 'vc:admin', 'vc:practitioner', 'vc:patient');
    const query = parse(listSessionsQuery, req.query, 'query');
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
    res.json({ items: page.map(sessionView), nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null });
  });

  router.get('/sessions/:id', async (req, res) => {
    const principal = requireRole(res, 'vc:admin', 'vc:practitioner', 'vc:patient');
    const { id } = parse(sessionIdParams, req.params, 'params');
    res.json(sessionView(await loadSessionFor(ctx.db, principal, id)));
  });

  router.get('/sessions/:id/participants', async (req, res) => {
    const principal = requireRole(res, 'vc:admin', 'vc:practitioner', 'vc:patient');
    const { id } = parse(sessionIdParams, req.params, 'params');
    const session = await loadSessionFor(ctx.db, principal, id);
    const rows = await listParticipants(ctx.db, session.tenantId, session.id);
    res.json({ items: rows.map(participantView) });
  });

  router.post('/sessions/:id/join', async (req, res) => {
    const principal = requireRole(res, 'vc:practitioner', 'vc:patient');
    const { id } = parse(sessionIdParams, req.params, 'params');
    const body = parse(joinBody, req.body, 'body');
    res.json(await joinSession(ctx, principal, id, body.displayName));
  });

  router.post('/sessions/:id/leave', async (req, res) => {
    const principal = requireRole(res, 'vc:practitioner', 'vc:patient');
    const { id } = parse(sessionIdParams, req.params, 'params');
    parse(emptyBody, req.body, 'body');
    await leaveSession(ctx, principal, id);
    res.json(sessionView(await loadSessionFor(ctx.db, principal, id)));
  });

  router.post('/sessions/:id/end', async (req, res) => {
    const principal = requireRole(res, 'vc:practitioner');
    const { id } = parse(sessionIdParams, req.params, 'params');
    parse(emptyBody, req.body, 'body');
    res.json(sessionView(await endSession(ctx, principal, id)));
  });

  router.post('/sessions/:id/cancel', async (req, res) => {
    const principal = requireRole(res, 'vc:practitioner');
    const { id } = parse(sessionIdParams, req.params, 'params');
    const body = parse(cancelBody, req.body, 'body');
    res.json(sessionView(await cancelSession(ctx, principal, id, body.reason)));
  });

  return router;
}
