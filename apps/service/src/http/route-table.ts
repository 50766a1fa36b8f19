import { z } from 'zod';
import type { Executor } from '../db';
import type { Principal, Role } from '../auth/principal';
import type { ErrorCode } from '../errors';
import type { ReplyClaim } from '../idempotency/middleware';

/**
 * The service's one route table, in the spirit of Medplum's fhir-router: each route says its method,
 * path, roles, zod schemas, replies and problems once; `http/router.ts` builds the Express routers from it
 * and `openapi.ts` builds `/openapi.json`, so the two cannot drift. Handlers know no Express: they take
 * the parsed request and return a reply.
 */

/**
 * Named schemas become `components.schemas.<id>` and are referenced, never repeated inline. Requests are
 * documented as zod parses them (`io: input`: defaults optional), replies as handlers produce them.
 */
export const requestSchemas = z.registry<{ id: string; description?: string }>();
export const replySchemas = z.registry<{ id: string; description?: string }>();

export type Tag = 'sessions' | 'config' | 'operations';

/** A reply a handler returns; `body` is sent as JSON unless `type` names another media type. */
export interface RouteReply {
  status: number;
  body?: unknown;
  /** The body already serialized as JSON (sent as `body` would be, without serializing it again). */
  json?: string;
  type?: string;
  headers?: Record<string, string>;
}

export interface RouteInput<P, Q, B> {
  /** The caller; routes with `roles: 'public'` get none (`undefined`). */
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  /** A request header by (case-insensitive) name. */
  header(name: string): string | undefined;
  /** Where the router is mounted (`/api/v1/virtual-care`), for Location headers. */
  baseUrl: string;
  /**
   * Stores the reply of an `Idempotency-Key` request in the effect's own transaction (a no-op without a
   * key): handlers whose effect is one transaction call it there, so a crash after commit replays.
   * `headers` are the reply's own (`Location`), which the replay repeats.
   */
  storeReplyInTx(tx: Executor, status: number, body: unknown, headers?: Record<string, string>): Promise<void>;
  /**
   * For an effect written as one statement: the request's Idempotency-Key claim (undefined without a
   * key), whose reply that statement stores itself; `stored()` once it committed.
   */
  replyClaim(): ReplyClaim | undefined;
}

export interface ReplySpec {
  description: string;
  /** A zod schema with an `id` in its meta (it becomes `components.schemas.<id>`), for JSON bodies. */
  schema?: z.ZodType;
  /** A media type other than JSON: `text/html` documented as a string body, or with `schema`, a JSON one (`application/json` is the default). */
  type?: string;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

/** A request header the route reads besides Authorization and Idempotency-Key, documented as a parameter. */
export interface HeaderSpec {
  name: string;
  description: string;
  schema: Record<string, unknown>;
}

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  operationId: string;
  method: 'get' | 'post' | 'put';
  /** Express-style (`/sessions/:id`), relative to the group's mount point. */
  path: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** Who may call: any of these roles (checked before anything is parsed), or `public` (no token). */
  roles: readonly Role[] | 'public';
  params?: P;
  query?: Q;
  body?: B;
  headers?: readonly HeaderSpec[];
  /** Every success status the handler returns, with its body. */
  replies: Record<number, ReplySpec>;
  /** Problems this route raises itself; those of auth, parsing and idempotency are added by the table. */
  errors?: readonly ErrorCode[];
  handle(input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>>): Promise<RouteReply> | RouteReply;
}

/** A route of the table with its types erased, so routes of different shapes share one list. */
export type Route = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** Identity with inference: the handler's input is typed by the route's own schemas. */
export function defineRoute<P extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined>(
  spec: RouteSpec<P, Q, B>,
): Route {
  return spec as unknown as Route;
}

/** Routes mounted together under one prefix: the API behind auth, or the public operational routes. */
export interface RouteGroup {
  mount: string;
  routes: readonly Route[];
}

/** `/sessions/:id` → `/sessions/{id}` (OpenAPI's path template). */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
