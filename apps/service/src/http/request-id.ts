import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The id of a request: a UUID this server makes, never one a client sent (an `X-Request-Id` would be
 * client input, and the id is echoed in every problem's `instance`). Made on first use and kept on
 * `req.id`, where pino-http looks for it, so the request's log line and its problem carry the same one.
 */
export function requestIdOf(req: IncomingMessage): string {
  if (typeof req.id !== 'string') req.id = randomUUID();
  return req.id;
}

/**
 * RFC 9457 §3.1.5 `instance`: identifies this occurrence of the problem. Not the request path, which is
 * the client's text (an id, a name, a script) and would be reflected, logged and, with an
 * Idempotency-Key, stored; the request id lets support find the request's log line instead.
 */
export const instanceOf = (id: string): string => `urn:uuid:${id}`;
