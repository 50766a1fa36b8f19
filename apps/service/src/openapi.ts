import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode, PROBLEM_TYPE_BASE } from './errors';
import { openApiPath, replySchemas, type ReplySpec, requestSchemas, type Route, type RouteGroup, type Tag } from './http/route-table';

/**
 * `/openapi.json` (OpenAPI 3.1), generated from the route table: the same zod schemas validate requests
 * and document them, named schemas are components referenced by `$ref`, and every status a route
 * answers is listed, problems per status as RFC 9457 `application/problem+json`.
 */

const fieldError = z
  .object({ field: z.string().describe('where: body.scheduledStart, query.limit, params.id, header.If-Match, body'), message: z.string() })
  .register(replySchemas, { id: 'FieldError' });

/** RFC 9457 §3: the members this service sends; extensions (`reason`, `action`) may follow. */
export const problemSchema = z
  .looseObject({
    type: z.url().describe(`${PROBLEM_TYPE_BASE}<code>, one per error code`),
    title: z.string(),
    status: z.int().min(400).max(599).describe('the HTTP status code'),
    detail: z.string(),
    instance: z
      .string()
      .describe(
        "urn:uuid:<request id>: this occurrence of the problem, never the request path or other client input; the request's log line carries the same id (req.id)",
      ),
    errors: z
      .array(fieldError)
      .optional()
      .describe(
        'each invalid field: always on validation-failed; also on other 4xx whose cause lies in one place (a path param that does not decode, an unreadable body, a refused Authorization header)',
      ),
  })
  .register(replySchemas, { id: 'Problem', description: 'RFC 9457 problem details' });

/** In alphabetical order, as Spectral's `openapi-tags-alphabetical` asks (readers and renderers find them there). */
const TAGS: Record<Tag, string> = {
  config: "The tenant's Jitsi deployment, billing and branding (vc:admin)",
  operations: 'Health, readiness, metrics and this document; no token needed',
  sessions: 'Virtual sessions: schedule, join, leave, end, cancel',
};

type Json = Record<string, unknown>;

const ref = (schema: z.ZodType): Json => {
  const id = replySchemas.get(schema)?.id ?? requestSchemas.get(schema)?.id;
  if (!id) throw new Error('a schema in the route table has no id: register it in requestSchemas or replySchemas');
  return { $ref: `#/components/schemas/${id}` };
};

const inline = (schema: z.ZodType): Json => {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
};

function components(registry: typeof replySchemas, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, { io, unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as unknown as {
    schemas: Record<string, Json>;
  };
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
}

/**
 * What any request can meet before a route is chosen: Node's HTTP parser refusing it (`http/client-error.ts`:
 * 400 malformed, 408 not complete in time, 414 request line or 431 header fields over the size read) and
 * `requireHost` (an HTTP/1.1 request without exactly one Host is a 400).
 */
const BEFORE_ANY_ROUTE: readonly ErrorCode[] = ['bad_request', 'request_timeout', 'uri_too_long', 'header_fields_too_large'];

/** The problems a route can answer: its own plus those of the HTTP parser, authentication, parsing and idempotency. */
function problemsOf(route: Route, inApi: boolean): ErrorCode[] {
  const codes = new Set<ErrorCode>([...BEFORE_ANY_ROUTE, ...(route.errors ?? [])]);
  if (route.params || route.query || route.body) codes.add('validation_failed');
  if (route.roles !== 'public') ['unauthenticated', 'forbidden', 'internal'].forEach((c) => codes.add(c as ErrorCode));
  // Behind auth: the rate limits. (What the framework cannot read there, a bad %-escape or a body that is not its
  // gzip, is a `bad-request` 400 too, documented above.)
  if (inApi && route.roles !== 'public') codes.add('rate_limited');
  // The body checks (JSON only, its size, its depth) run before the router, for every method: a GET that
  // sends a body meets them too.
  if (inApi) ['validation_failed', 'payload_too_large', 'unsupported_media_type'].forEach((c) => codes.add(c as ErrorCode));
  if (inApi && route.method === 'post') ['validation_failed', 'idempotency_key_reused', 'idempotency_in_progress'].forEach((c) => codes.add(c as ErrorCode));
  return [...codes];
}

/**
 * What `http/rate-limit.ts` sends (draft-ietf-httpapi-ratelimit-headers): the policy and the tightest
 * limit's state on every reply that passed the limiter, `Retry-After` on its 429. Absent when
 * VC_RATE_LIMIT_TENANT_PER_MIN and VC_RATE_LIMIT_CALLER_PER_MIN are both 0 (limits off).
 */
const RATE_LIMIT_HEADERS: Record<string, Json> = {
  RateLimit: {
    description: 'the tightest limit after this request: `"<tenant|caller>";r=<requests remaining>;t=<seconds until the window resets>`',
    schema: { type: 'string', examples: ['"caller";r=599;t=60'] },
  },
  'RateLimit-Policy': {
    description: 'the quotas that apply: `"tenant";q=<requests>;w=60, "caller";q=<requests>;w=60` (one-minute windows, per service instance)',
    schema: { type: 'string', examples: ['"tenant";q=6000;w=60, "caller";q=600;w=60'] },
  },
  'Retry-After': { description: 'seconds until the exhausted quota has room again (429 only)', schema: { type: 'integer', minimum: 1 } },
};

/** Headers every operation of a kind sends besides the rate-limit ones: the 401 challenge, replays, entity tags. */
const OTHER_HEADERS: Record<string, Json> = {
  'WWW-Authenticate': {
    description:
      'RFC 6750 §3 challenge: on a 401, `Bearer realm="virtual-care"` without a token, with `error="invalid_token"` and an `error_description` for a token that was refused; on a 400, `error="invalid_request"` when the `Authorization` header is not `Bearer` and one token',
    schema: { type: 'string', examples: ['Bearer realm="virtual-care"'] },
  },
  'Idempotent-Replayed': {
    description: '`true` when this reply is the stored reply of an earlier request with the same `Idempotency-Key`, replayed; absent otherwise',
    schema: { type: 'string', enum: ['true'] },
  },
  ETag: {
    description: 'the entity tag of the reply body, for `If-None-Match` on the next GET (304 when it still matches)',
    schema: { type: 'string' },
  },
  Allow: {
    description: "the methods this path answers (RFC 9110 §10.2.1): its operations' methods, `HEAD` where there is `GET`, and `OPTIONS`",
    schema: { type: 'string', examples: ['GET, HEAD, POST, OPTIONS'] },
  },
};
const headerRef = (name: string): Json => ({ $ref: `#/components/headers/${name}` });
const LIMITED_REPLY_HEADERS = { RateLimit: headerRef('RateLimit'), 'RateLimit-Policy': headerRef('RateLimit-Policy') };
const LIMITED_429_HEADERS = { ...LIMITED_REPLY_HEADERS, 'Retry-After': headerRef('Retry-After') };

/**
 * Statuses a keyed POST can replay (`idempotency/middleware.ts`): those of the replies stored for a key.
 * Not those sent before the key is looked at (401, the body checks' 413/415, 429; their 400 shares its
 * status with the route's own, which are stored), not the key's own 422 or a 409 that is only "in
 * progress" (nothing stored), not 5xx (never stored: a retry runs again).
 */
const replayable = (status: number, codes: readonly ErrorCode[]): boolean =>
  status < 500 && ![401, 413, 415, 422, 429].includes(status) && !codes.every((c) => c === 'idempotency_in_progress');

/** Routes behind authentication go through the rate limiter. */
const rateLimited = (route: Route, inApi: boolean): boolean => inApi && route.roles !== 'public';

function problemResponses(codes: ErrorCode[], limited: boolean, replays: boolean, authenticated: boolean): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => {
        const headers: Record<string, Json> = {
          ...(limited && status === 429 ? LIMITED_429_HEADERS : {}),
          // Behind auth a malformed Authorization header is a 400 with its challenge (`auth/authenticate.ts`).
          ...(status === 401 || (authenticated && status === 400) ? { 'WWW-Authenticate': headerRef('WWW-Authenticate') } : {}),
          ...(replays && replayable(status, list) ? { 'Idempotent-Replayed': headerRef('Idempotent-Replayed') } : {}),
        };
        return [
          String(status),
          {
            description: `Problem types: ${list.map((c) => c.replace(/_/g, '-')).join(', ')}`,
            ...(Object.keys(headers).length > 0 ? { headers } : {}),
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        ];
      }),
  );
}

function parameters(route: Route, inApi: boolean): Json[] {
  const out: Json[] = [];
  const fields = (schema: z.ZodType | undefined) => (schema instanceof z.ZodObject ? Object.entries(schema.shape as Record<string, z.ZodType>) : []);
  // A field's `.describe()` is the parameter's description (which the schema then does not repeat).
  const described = (schema: z.ZodType) => {
    const { description, ...rest } = inline(schema);
    return { ...(description ? { description } : {}), schema: rest };
  };
  for (const [name, schema] of fields(route.params)) out.push({ name, in: 'path', required: true, ...described(schema) });
  for (const [name, schema] of fields(route.query)) out.push({ name, in: 'query', required: !schema.safeParse(undefined).success, ...described(schema) });
  if (inApi && route.method === 'post') {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'same key + same request replays the stored reply; another request → 422',
      schema: { type: 'string', maxLength: 200 },
    });
  }
  if (route.method === 'get') {
    out.push({
      name: 'If-None-Match',
      in: 'header',
      required: false,
      description:
        'the `ETag` of a previous reply: 304 without a body while it still matches; a value that names no current tag, malformed ones included, gets the full reply',
      schema: { type: 'string' },
    });
  }
  for (const header of route.headers ?? [])
    out.push({ name: header.name, in: 'header', required: false, description: header.description, schema: header.schema });
  return out;
}

function operation(route: Route, inApi: boolean): Json {
  const roles = route.roles === 'public' ? 'none (public)' : route.roles.join(', ');
  const limited = rateLimited(route, inApi);
  const replays = inApi && route.method === 'post';
  // GET routes tag their successes with a weak ETag (unless the route set one; `routerOf`) and answer a
  // matching If-None-Match with 304. Nothing else carries an ETag but what a route sets itself (PUT /config).
  const conditional = route.method === 'get';
  const replyHeaders = (status: string, own: ReplySpec['headers']): Json | undefined => {
    const headers = {
      ...(limited ? LIMITED_REPLY_HEADERS : {}),
      ...(conditional && status.startsWith('2') ? { ETag: headerRef('ETag') } : {}),
      ...(replays ? { 'Idempotent-Replayed': headerRef('Idempotent-Replayed') } : {}),
      ...own,
    };
    return Object.keys(headers).length > 0 ? headers : undefined;
  };
  const successes = Object.entries(route.replies).map(([status, reply]) => {
    const headers = replyHeaders(status, reply.headers);
    return [
      status,
      {
        description: reply.description,
        ...(headers ? { headers } : {}),
        ...(reply.schema
          ? { content: { [reply.type ?? 'application/json']: { schema: ref(reply.schema) } } }
          : reply.type
            ? { content: { [reply.type]: { schema: { type: 'string' } } } }
            : {}),
      },
    ];
  });
  if (conditional) {
    const etag = Object.values(route.replies).find((reply) => reply.headers?.ETag)?.headers?.ETag;
    successes.push([
      '304',
      {
        description: 'Not Modified: `If-None-Match` named the current `ETag`; no body',
        headers: { ...(limited ? LIMITED_REPLY_HEADERS : {}), ETag: etag ?? headerRef('ETag') },
      },
    ]);
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: [`Roles: ${roles}.`, route.description].filter(Boolean).join(' '),
    tags: [route.tag],
    ...(route.roles === 'public' ? { security: [] } : {}),
    ...(parameters(route, inApi).length ? { parameters: parameters(route, inApi) } : {}),
    ...(route.body ? { requestBody: { required: !route.body.safeParse({}).success, content: { 'application/json': { schema: ref(route.body) } } } } : {}),
    responses: { ...Object.fromEntries(successes), ...problemResponses(problemsOf(route, inApi), limited, replays, inApi && route.roles !== 'public') },
  };
}

/**
 * The HEAD of a GET route: Express answers it with the GET's handler, writing the status and headers
 * (`Content-Type`, `Content-Length`, `ETag`, the rate-limit ones) the GET would, and no body. So it is
 * the GET's operation, every response without content: `getSession` → `headSession`.
 */
function headOperation(get: Json): Json {
  const responses = Object.fromEntries(
    Object.entries(get.responses as Record<string, Json>).map(([status, { content, ...response }]) => [
      status,
      content ? { ...response, description: `${String(response.description)} (the GET's headers, no body)` } : response,
    ]),
  );
  return {
    ...get,
    operationId: `head${String(get.operationId)
      .replace(/^get(?=[A-Z])/, '')
      .replace(/^./, (c) => c.toUpperCase())}`,
    summary: `${String(get.summary)}: headers only`,
    description: `${String(get.description)} HEAD answers as GET does, with the same status and headers but no body.`,
    responses,
  };
}

/** The problems of an OPTIONS behind auth: those of the checks it passes before `http/options.ts` answers it. */
const API_OPTIONS_PROBLEMS: ErrorCode[] = [
  ...BEFORE_ANY_ROUTE,
  'validation_failed',
  'unauthenticated',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal',
];

/** `/sessions/{id}/join` → `optionsSessionsByIdJoin`: one id per path, as the path is its only input. */
const optionsOperationId = (path: string): string =>
  `options${path
    .split('/')
    .filter(Boolean)
    .map((segment) => segment.match(/^\{(.+)\}$/)?.[1]?.replace(/^./, (c) => `By${c.toUpperCase()}`) ?? segment)
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')}`;

/**
 * The OPTIONS of a path (`http/options.ts`): 204 with `Allow`, no body. Behind auth it passes what every
 * request of the API passes first (body checks, authentication, rate limit), not the roles of the path's
 * operations; its path params are not read, so any value gets the same reply.
 */
function optionsOperation(path: string, mount: string, route: Route, inApi: boolean): Json {
  const limited = inApi;
  const names = route.params instanceof z.ZodObject ? Object.keys(route.params.shape as Record<string, z.ZodType>) : [];
  const who = inApi
    ? 'Roles: any authenticated caller (each method checks its own roles when called); without a valid token, the 401 of any method.'
    : 'Roles: none (public).';
  return {
    operationId: optionsOperationId(path.slice(mount.length)),
    summary: 'The methods this path answers',
    description: `${who} \`Allow\` lists the methods, as a 405 does (RFC 9110 §9.3.7). A CORS preflight from an origin \`VC_CORS_ORIGINS\` lists is answered before this, by the CORS layer: 204 with its \`Access-Control-*\` headers and no \`Allow\`.`,
    tags: [route.tag],
    ...(inApi ? {} : { security: [] }),
    ...(names.length
      ? {
          parameters: names.map((name) => ({
            name,
            in: 'path',
            required: true,
            description: 'any value: OPTIONS does not look it up',
            schema: { type: 'string' },
          })),
        }
      : {}),
    responses: {
      '204': {
        description: 'No Content: `Allow` names the methods; no body',
        headers: { ...(limited ? LIMITED_REPLY_HEADERS : {}), Allow: headerRef('Allow') },
      },
      ...problemResponses(inApi ? API_OPTIONS_PROBLEMS : [...BEFORE_ANY_ROUTE], limited, false, inApi),
    },
  };
}

/** The document of every group; `apiMount` is the group behind bearer auth, JSON bodies and idempotency. */
export function buildOpenApi(groups: readonly RouteGroup[], apiMount: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const group of groups) {
    // The first route of each path: a path's routes share its params and tag.
    const firstOf = new Map<string, Route>();
    for (const route of group.routes) {
      const path = `${group.mount}${openApiPath(route.path)}`;
      const item = (paths[path] ??= {});
      item[route.method] = operation(route, group.mount === apiMount);
      if (route.method === 'get') item.head = headOperation(item.get!);
      if (!firstOf.has(path)) firstOf.set(path, route);
    }
    for (const [path, route] of firstOf) paths[path]!.options = optionsOperation(path, group.mount, route, group.mount === apiMount);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'virtual-care-service',
      version: '1.0.0',
      summary: 'Live telehealth sessions: schedule, join (Jitsi), end (audit, billing, FHIR Encounter), tenant config',
      description: `Bearer JWT callers \`{ sub, tenant, roles }\`; every query is scoped to the token's tenant. Errors are RFC 9457 problem+json with \`type\` ${PROBLEM_TYPE_BASE}<code>.`,
      license: { name: 'Proprietary', identifier: 'LicenseRef-virtual-care-proprietary' },
      contact: { name: 'virtual-care service owners' },
    },
    servers: [{ url: '/', description: 'the host serving this document' }],
    security: [{ bearer: [] }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'caller token: sub (FHIR ref), tenant, roles vc:admin|vc:practitioner|vc:patient',
        },
      },
      schemas: { ...components(requestSchemas, 'input'), ...components(replySchemas, 'output') },
      headers: { ...RATE_LIMIT_HEADERS, ...OTHER_HEADERS },
    },
  };
}
