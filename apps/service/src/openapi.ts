import { z } from 'zod';
import { ERROR_STATUS, PROBLEM_TYPE_BASE } from './errors';
import { cancelBody, createSessionBody, joinBody, joinReply, listSessionsQuery, participantsReply, sessionPageReply, sessionReply } from './sessions/schemas';
import { configReply, connectionTestReply, putConfigBody } from './tenant-config/schemas';

/**
 * `/openapi.json`, generated from the same zod schemas that validate requests, so the document cannot
 * drift from what the handlers accept.
 */

const json = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });

const problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri', example: `${PROBLEM_TYPE_BASE}validation-failed` },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
};

interface Operation {
  method?: 'post';
  summary: string;
  roles: string[];
  body?: z.ZodType;
  query?: z.ZodObject;
  reply: z.ZodType | null;
  status?: number;
  idParam?: boolean;
}

function operation(op: Operation): Record<string, unknown> {
  const parameters: unknown[] = [];
  if (op.idParam) parameters.push({ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
  if (op.method === 'post') {
    parameters.push({ name: 'Idempotency-Key', in: 'header', required: false, description: 'same key + same request replays the stored reply; another request → 422', schema: { type: 'string', maxLength: 200 } });
  }
  if (op.query) {
    for (const [name, schema] of Object.entries(op.query.shape)) {
      parameters.push({ name, in: 'query', required: false, schema: json(schema as z.ZodType, 'input') });
    }
  }
  const status = String(op.status ?? 200);
  return {
    summary: op.summary,
    description: `Roles: ${op.roles.join(', ')}.`,
    security: [{ bearer: [] }],
    parameters,
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(op.body, 'input') } } } } : {}),
    responses: {
      [status]: op.reply ? { description: 'OK', content: { 'application/json': { schema: json(op.reply, 'output') } } } : { description: 'OK' },
      default: { description: 'RFC 9457 problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    },
  };
}

export function buildOpenApi(basePath: string): Record<string, unknown> {
  const p = (path: string) => `${basePath}${path}`;
  return {
    openapi: '3.0.3',
    info: { title: 'virtual-care-service', version: '1.0.0', description: `Problem types: ${Object.keys(ERROR_STATUS).map((c) => PROBLEM_TYPE_BASE + c.replace(/_/g, '-')).join(', ')}` },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: problem },
    },
    paths: {
      [p('/sessions')]: {
        post: operation({ method: 'post', summary: 'Schedule a session', roles: ['vc:practitioner'], body: createSessionBody, reply: sessionReply, status: 201 }),
        get: operation({ summary: 'List sessions (newest first, cursor pagination)', roles: ['vc:admin', 'vc:practitioner', 'vc:patient (own only)'], query: listSessionsQuery, reply: sessionPageReply }),
      },
      [p('/sessions/{id}')]: { get: operation({ summary: 'Read a session', roles: ['vc:admin', 'vc:practitioner', 'vc:patient (own only)'], reply: sessionReply, idParam: true }) },
      [p('/sessions/{id}/participants')]: { get: operation({ summary: 'List participants', roles: ['vc:admin', 'vc:practitioner', 'vc:patient (own only)'], reply: participantsReply, idParam: true }) },
      [p('/sessions/{id}/join')]: { post: operation({ method: 'post', summary: 'Join: Jitsi URL and short-lived token (patients need an active telehealth consent)', roles: ['vc:practitioner', 'vc:patient'], body: joinBody, reply: joinReply, idParam: true }) },
      [p('/sessions/{id}/leave')]: { post: operation({ method: 'post', summary: 'Leave', roles: ['vc:practitioner', 'vc:patient'], reply: sessionReply, idParam: true }) },
      [p('/sessions/{id}/end')]: { post: operation({ method: 'post', summary: 'End: audit, billing, CloudEvents and the FHIR Encounter', roles: ['vc:practitioner'], reply: sessionReply, idParam: true }) },
      [p('/sessions/{id}/cancel')]: { post: operation({ method: 'post', summary: 'Cancel a session that has not started', roles: ['vc:practitioner'], body: cancelBody, reply: sessionReply, idParam: true }) },
      [p('/config')]: {
        get: operation({ summary: "The tenant's configuration (never the app secret)", roles: ['vc:admin'], reply: configReply }),
        put: operation({ summary: 'Create or replace the configuration; the app secret is KMS-encrypted', roles: ['vc:admin'], body: putConfigBody, reply: configReply }),
      },
      [p('/config/test-connection')]: { post: operation({ method: 'post', summary: 'Probe the Jitsi deployment with a minted token; stored on the config', roles: ['vc:admin'], reply: connectionTestReply }) },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'OK' } } } },
      '/readyz': { get: { summary: 'Readiness: database and NATS', responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text/plain exposition' } } } },
    },
  };
}
