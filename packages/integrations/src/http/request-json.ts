import { Agent as HttpAgent, type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { IntegrationError, type IntegrationSystem } from '../errors';
import { decodeBody } from './decode';

/** Reply headers by case-insensitive name, as `Headers#get` reads them (null when absent). */
export interface ReplyHeaders {
  get(name: string): string | null;
}

/** A JSON reply: status, headers and the parsed body (undefined when empty). */
export interface JsonReply {
  status: number;
  headers: ReplyHeaders;
  body: unknown;
}

/** Who is asked and for what, so every failure reads `<what>: <peer> answered 503` whichever client made it. */
export interface RequestJsonInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange, reply body included; past it the request is torn down and a retryable error thrown. */
  timeoutMs: number;
  system: IntegrationSystem;
  /** The operation, with the tenant or entity it concerns, e.g. `consent upsert for tenant acme`. */
  what: string;
  /** The far side as messages name it (`access-policy`, `Kong Admin API`); omitted when `what` says it already. */
  peer?: string;
  /** Statuses that resolve; default 2xx. */
  accept?: (status: number) => boolean;
  /** A short, PHI-free summary of an error reply's body, appended in parentheses (Kong's `message`, FHIR issue codes). */
  explain?: (body: unknown) => string | undefined;
}

// One pool of kept-alive connections per process: a consent decision on every join is a round trip, and
// undici's fetch spent ~0.55 ms of CPU on each (streams, Headers, AbortSignal) where node:http spends ~0.16
// (bench/service/consent-client.ts). Idle sockets close after 4 s, before common server idle timeouts
// (Node's 5 s), and sooner if the server's Keep-Alive hint says so, so a reused socket is rarely one the
// server already closed; the agent's timeout only closes idle sockets, a slower answer is still awaited.
const IDLE_MS = 4_000;
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo' }),
  https: new HttpsAgent({ keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo' }),
};

/** 408, 429 and 5xx are worth another try; any other 4xx will fail the same way again. */
const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

class Timeout extends Error {}

/** The longest `Retry-After` honoured: a server asking for hours is treated as asking for this, not obeyed blindly. */
export const RETRY_AFTER_MAX_MS = 5 * 60_000;

/**
 * A `Retry-After` value (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) as milliseconds from `now`,
 * capped at {@link RETRY_AFTER_MAX_MS}; undefined when absent or unreadable, so the caller's backoff applies.
 */
export function retryAfter(value: string | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS);
}

/**
 * One request with a timeout that parses a JSON reply, for every HTTP client here, over kept-alive
 * connections. Statuses in `accept` resolve; anything else throws an {@link IntegrationError} of `system`.
 * Messages carry the status only: bodies and URLs may hold PHI or secrets.
 */
export async function requestJson(url: string, init: RequestJsonInit): Promise<JsonReply> {
  const { timeoutMs, system, what, peer, accept = (s) => s >= 200 && s < 300, explain } = init;
  const said = (event: string) => (peer ? `${what}: ${peer} ${event}` : `${what} ${event}`);
  let reply: { status: number; headers: IncomingMessage['headers']; text: string };
  try {
    reply = await exchange(new URL(url), init, Date.now() + timeoutMs);
  } catch (cause) {
    const message = cause instanceof Timeout ? `${what}: no answer within ${timeoutMs} ms` : said('unreachable');
    throw new IntegrationError(message, { system, retryable: true, cause });
  }
  const { status, text } = reply;
  if (!accept(status)) {
    const detail = explain?.(parseOrUndefined(text));
    const retryable = isRetryableStatus(status);
    const retryAfterMs = retryable ? retryAfter(reply.headers['retry-after'], Date.now()) : undefined;
    throw new IntegrationError(said(`answered ${status}${detail ? ` (${detail})` : ''}`), { system, status, retryable, retryAfterMs, detail });
  }
  const headers = replyHeaders(reply.headers);
  try {
    return { status, headers, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch (cause) {
    throw new IntegrationError(said(`answered ${status} with ${text.length} bytes that are not JSON`), { system, status, retryable: false, cause });
  }
}

/**
 * The request and its whole reply by `deadline`. A kept-alive socket the server closed while it lay idle
 * fails before any reply byte; that request never reached the server, so it goes once more on a new
 * connection (Node's documented pattern) instead of surfacing as an outage.
 */
async function exchange(url: URL, init: RequestJsonInit, deadline: number) {
  try {
    return await once(url, init, deadline, false);
  } catch (error) {
    if (!(error instanceof StaleSocket)) throw error;
    return once(url, init, deadline, true);
  }
}

class StaleSocket extends Error {}

function once(url: URL, init: RequestJsonInit, deadline: number, fresh: boolean) {
  return new Promise<{ status: number; headers: IncomingMessage['headers']; text: string }>((resolve, reject) => {
    const https = url.protocol === 'https:';
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    // A fresh attempt takes its own connection, closed after use: no pooled socket can be stale again.
    const options = { method: init.method ?? 'GET', headers, agent: fresh ? false : https ? agents.https : agents.http };
    let answered = false;
    const req: ClientRequest = (https ? httpsRequest : httpRequest)(url, options, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      // A connection lost mid-body closes the reply without 'end' (or with an 'error' first, which settled it).
      res.on('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the reply body ended'));
      });
      res.on('end', () => {
        clearTimeout(timer);
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: decodeBody(Buffer.concat(chunks), res.headers['content-encoding']) });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    const timer = setTimeout(() => fail(new Timeout()), Math.max(0, deadline - Date.now()));
    function fail(error: Error) {
      clearTimeout(timer);
      req.destroy();
      reject(error);
    }
    req.on('error', (error: NodeJS.ErrnoException) => {
      const stale = req.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      fail(stale ? new StaleSocket(error.message, { cause: error }) : error);
    });
    req.end(init.body);
  });
}

function replyHeaders(raw: IncomingMessage['headers']): ReplyHeaders {
  return {
    get(name) {
      const value = raw[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

function parseOrUndefined(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}
