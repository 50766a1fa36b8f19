import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTenant, type Harness, patient, scheduleSession, startHarness } from '../testing/harness';

/**
 * The consent check over kept-alive connections, against an access-policy that misbehaves at the transport
 * level (a real HTTP server on loopback): a patient still gets the same problem replies as for an outage,
 * and a kept-alive connection the server dropped is not an outage.
 */
const API = '/api/v1/virtual-care';
type Mode = 'permit' | 'reset' | 'drop-reused';
let mode: Mode = 'permit';
const perSocket = new WeakMap<Socket, number>();
const policy = createServer((req: IncomingMessage, res: ServerResponse) => {
  const nth = (perSocket.get(req.socket) ?? 0) + 1;
  perSocket.set(req.socket, nth);
  req.resume();
  req.on('end', () => {
    if (mode === 'reset' || (mode === 'drop-reused' && nth > 1)) return void req.socket.destroy();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ decision: 'permit', reason: 'granted', consentId: 'c-1' }));
  });
});
let h: Harness;

beforeAll(async () => {
  await new Promise<void>((resolve) => policy.listen(0, '127.0.0.1', resolve));
  h = await startHarness({ fhir: false, accessPolicyUrl: `http://127.0.0.1:${(policy.address() as AddressInfo).port}` });
  await configureTenant(h, 'transport');
});
afterAll(async () => {
  await h?.close();
  policy.closeAllConnections();
  await new Promise((resolve) => policy.close(resolve));
});

const join = (id: string) =>
  h.call<{ type: string; detail: string; jwt: string }>('POST', `${API}/sessions/${id}/join`, { as: patient('transport'), body: {} });

describe('patient join with access-policy over kept-alive node:http', () => {
  it('a connection reset on every attempt is the 503 dependency-unavailable problem, as an HTTP outage is', async () => {
    const id = await scheduleSession(h, 'transport');
    mode = 'reset';
    const reply = await join(id);
    expect(reply.status).toBe(503);
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(reply.body).toMatchObject({ type: 'https://virtual-care.dev/problems/dependency-unavailable', status: 503 });
    expect(reply.body.detail).toBe('access-policy did not answer the consent check');
  });

  it('a kept-alive connection the server dropped before answering is not an outage: the patient joins', async () => {
    mode = 'permit';
    expect((await join(await scheduleSession(h, 'transport'))).status).toBe(200);
    mode = 'drop-reused';
    const reply = await join(await scheduleSession(h, 'transport'));
    expect(reply.status).toBe(200);
    expect(reply.body.jwt).toEqual(expect.any(String));
  });
});
