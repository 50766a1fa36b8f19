import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrationError } from '../errors';
import { listenOnLoopback, type LoopbackServer } from '../loopback';
import { withRetry } from '../retry';
import { RETRY_AFTER_MAX_MS, requestJson, type RequestJsonInit } from './request-json';

type Handler = (req: IncomingMessage, res: ServerResponse, nth: number) => void;

let server: LoopbackServer;
let handle: Handler = (_req, res) => res.end();
let connections = 0;
const perSocket = new WeakMap<Socket, number>();

beforeAll(async () => {
  server = await listenOnLoopback((req, res) => {
    const nth = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, nth);
    // The body is read before answering, as any server does: a request's bytes never linger on the socket.
    req.resume();
    req.on('end', () => handle(req, res, nth));
  });
  server.server.on('connection', () => connections++);
});
afterAll(() => server.close());

const init = (extra: Partial<RequestJsonInit> = {}): RequestJsonInit => ({
  timeoutMs: 2_000,
  system: 'kong',
  what: 'listing services',
  peer: 'Kong Admin API',
  ...extra,
});
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', location: '/services/1' });
  res.end(JSON.stringify(body));
};

describe('requestJson over kept-alive node:http connections', () => {
  it('parses the reply, reads headers by any case, and sends one after another over one connection', async () => {
    handle = (req, res) => json(res, 200, { method: req.method, length: req.headers['content-length'] });
    const before = connections;
    const first = await requestJson(`${server.url}/a`, init({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"é":1}' }));
    const second = await requestJson(`${server.url}/b`, init());
    expect(first).toMatchObject({ status: 200, body: { method: 'PUT', length: '8' } });
    expect(first.headers.get('Location')).toBe('/services/1');
    expect(first.headers.get('x-absent')).toBeNull();
    expect(second.body).toEqual({ method: 'GET' });
    expect(connections - before).toBe(1);
  });

  it('turns a refused status into the same IntegrationError as before: status, retryability, explained, no body', async () => {
    handle = (_req, res) => json(res, 409, { message: 'UNIQUE violation', secret: 'Patient/p-1' });
    const error = await requestJson(server.url, init({ explain: (b) => (b as { message: string }).message })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrationError);
    expect(error).toMatchObject({ system: 'kong', status: 409, retryable: false, message: 'listing services: Kong Admin API answered 409 (UNIQUE violation)' });
    handle = (_req, res) => json(res, 503, {});
    await expect(requestJson(server.url, init())).rejects.toMatchObject({ status: 503, retryable: true });
  });

  it("carries a 429/503's Retry-After (delta-seconds or HTTP-date, capped) on the error; a final refusal has none", async () => {
    const refusal = async (status: number, retryAfter: string) => {
      handle = (_req, res) => res.writeHead(status, { 'retry-after': retryAfter }).end();
      return (await requestJson(server.url, init()).catch((e: unknown) => e)) as IntegrationError;
    };
    expect((await refusal(429, '7')).retryAfterMs).toBe(7_000);
    expect((await refusal(503, new Date(Date.now() + 24 * 3600_000).toUTCString())).retryAfterMs).toBe(RETRY_AFTER_MAX_MS);
    expect((await refusal(503, new Date(Date.now() - 3600_000).toUTCString())).retryAfterMs).toBe(0);
    expect((await refusal(503, 'soon')).retryAfterMs).toBeUndefined();
    expect((await refusal(400, '7')).retryAfterMs).toBeUndefined();
  });

  it('withRetry waits at least the Retry-After asked, and does not retry when it is past its longest wait', async () => {
    let asked = 0;
    handle = (_req, res) => {
      asked += 1;
      if (asked === 1) res.writeHead(503, { 'retry-after': '1' }).end();
      else json(res, 200, { ok: true });
    };
    const waits: number[] = [];
    const retrying = { retries: 2, baseMs: 1, maxMs: 2_000, isRetryable: () => true, onRetry: (_e: unknown, _n: number, ms: number) => void waits.push(ms) };
    expect(await withRetry(() => requestJson(server.url, init()), retrying)).toMatchObject({ status: 200 });
    expect(waits).toEqual([1_000]);
    asked = 0;
    handle = (_req, res) => {
      asked += 1;
      res.writeHead(429, { 'retry-after': '60' }).end();
    };
    await expect(withRetry(() => requestJson(server.url, init()), retrying)).rejects.toMatchObject({ status: 429, retryAfterMs: 60_000 });
    expect(asked).toBe(1);
  });

  it('resolves statuses that accept takes, and says a reply that is not JSON is not', async () => {
    handle = (_req, res) => json(res, 404, { gone: true });
    expect(await requestJson(server.url, init({ accept: (s) => s === 404 }))).toMatchObject({ status: 404, body: { gone: true } });
    handle = (_req, res) => res.writeHead(200).end('<html>');
    await expect(requestJson(server.url, init())).rejects.toMatchObject({
      status: 200,
      retryable: false,
      message: 'listing services: Kong Admin API answered 200 with 6 bytes that are not JSON',
    });
  });

  it('decodes a gzip reply that a server sends unasked', async () => {
    handle = (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(JSON.stringify({ ok: true })));
    expect((await requestJson(server.url, init())).body).toEqual({ ok: true });
  });

  it('sends a request again on a new connection when the server dropped the kept-alive one unanswered', async () => {
    // The second request on each connection finds it closed, as when a server's idle timeout fires just as a
    // pooled socket is taken: it never reached the handler's answer, so it must not surface as an outage.
    let dropReused = false;
    handle = (req, res, nth) => {
      if (dropReused && nth > 1) {
        dropReused = false;
        return void req.socket.destroy();
      }
      json(res, 200, { reused: nth > 1 });
    };
    await requestJson(server.url, init());
    dropReused = true;
    const before = connections;
    expect((await requestJson(server.url, init({ method: 'POST', body: '{}' }))).body).toEqual({ reused: false });
    expect(dropReused).toBe(false);
    expect(connections - before).toBe(1);
  });

  it('a connection dropped on every attempt is a retryable "unreachable" error without a status', async () => {
    handle = (req) => req.socket.destroy();
    await expect(requestJson(server.url, init())).rejects.toMatchObject({
      system: 'kong',
      status: undefined,
      retryable: true,
      message: 'listing services: Kong Admin API unreachable',
    });
  });

  it('a connection lost in the middle of the reply body is unreachable, not a truncated success', async () => {
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":', () => req.socket.destroy());
    };
    await expect(requestJson(server.url, init())).rejects.toMatchObject({ retryable: true, message: 'listing services: Kong Admin API unreachable' });
  });

  it('times out on a server that never answers, or stalls mid-body, with the timeout in the message', async () => {
    handle = () => undefined;
    await expect(requestJson(server.url, init({ timeoutMs: 50 }))).rejects.toMatchObject({
      status: undefined,
      retryable: true,
      message: 'listing services: no answer within 50 ms',
    });
    handle = (_req, res) => res.writeHead(200, { 'content-length': '100' }).write('{"slow":');
    await expect(requestJson(server.url, init({ timeoutMs: 50 }))).rejects.toMatchObject({ message: 'listing services: no answer within 50 ms' });
  });

  it('a port nobody listens on is unreachable', async () => {
    const closed = await listenOnLoopback(() => undefined);
    await closed.close();
    await expect(requestJson(closed.url, init())).rejects.toMatchObject({ retryable: true, message: 'listing services: Kong Admin API unreachable' });
  });
});
