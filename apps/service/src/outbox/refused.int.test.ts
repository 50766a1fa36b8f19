import type { ServerResponse } from 'node:http';
import { createFhirClient } from '@vc/integrations/fhir';
import { listenOnLoopback, type LoopbackServer } from '@vc/integrations/loopback';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';
import { configureTenant, type Harness, practitioner, scheduleSession, startHarness } from '../testing/harness';
import { OutboxRelay } from './relay';

const API = '/api/v1/virtual-care';
const TENANT = 'relay-refused';
let h: Harness;
let fhir: LoopbackServer;
// What the stand-in FHIR server answers every POST Encounter with, set per test.
let answer: (res: ServerResponse) => void = (res) => res.writeHead(500).end();

beforeAll(async () => {
  h = await startHarness({ start: { relay: false } });
  await configureTenant(h, TENANT);
  fhir = await listenOnLoopback((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
});
afterAll(async () => {
  await fhir?.close();
  await h?.close();
});

const outcome = (res: ServerResponse, status: number, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers }).end(
    JSON.stringify({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: status === 412 ? 'duplicate' : 'invalid', diagnostics: 'subject Patient/pt-1 John Doe is not valid' }],
    }),
  );

async function endedSession(): Promise<string> {
  const id = await scheduleSession(h, TENANT);
  expect((await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner(TENANT), body: {} })).status).toBe(200);
  expect((await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner(TENANT), body: {} })).status).toBe(200);
  return id;
}

const encounterRow = async (sessionId: string) =>
  (
    await queryRows<{
      attempts: number;
      next_attempt_at: Date;
      refused: boolean;
      refused_reason: string | null;
      last_error: string | null;
      published: boolean;
    }>(
      h.db.db,
      sql`select attempts, next_attempt_at, refused_at is not null as refused, refused_reason, last_error, published_at is not null as published
          from outbox where aggregate_id = ${sessionId} and kind = 'fhir_encounter'`,
    )
  )[0]!;

const relayWith = (extra: { now?: () => Date; lines?: string[]; metrics?: ReturnType<typeof createMetrics> } = {}) =>
  new OutboxRelay({
    db: h.db.db,
    eventStream: undefined,
    fhir: createFhirClient({ baseUrl: fhir.url, timeoutMs: 2_000 }),
    logger: extra.lines ? createLogger('trace', { write: (line: string) => void extra.lines!.push(line) }) : createLogger('silent'),
    backoff: { baseMs: 1, maxMs: 1 },
    ...(extra.now ? { now: extra.now } : {}),
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
  });

describe('the relay and a FHIR server that refuses or throttles', () => {
  it("waits as long as a 503's Retry-After asks before the next attempt, not its own shorter backoff", async () => {
    const id = await endedSession();
    answer = (res) => outcome(res, 503, { 'retry-after': '120' });
    const at = new Date(Date.now() + 1_000);
    expect(await relayWith({ now: () => at }).runOnce()).toEqual({ published: 0, failed: 1 });
    const row = await encounterRow(id);
    expect([row.attempts, row.refused, new Date(row.next_attempt_at).getTime() - at.getTime()]).toEqual([1, false, 120_000]);
  });

  it.each([400, 412, 422])('parks an Encounter FHIR refuses for good (%i): not retried, counted, one warn line, no PHI', async (status) => {
    const id = await endedSession();
    answer = (res) => outcome(res, status);
    const lines: string[] = [];
    const metrics = createMetrics(async () => 0);
    const relay = relayWith({ lines, metrics });
    expect(await relay.runOnce()).toEqual({ published: 0, failed: 1 });
    const code = status === 412 ? 'duplicate' : 'invalid';
    expect(await encounterRow(id)).toMatchObject({
      attempts: 1,
      refused: true,
      refused_reason: `fhir ${status} (OperationOutcome: ${code})`,
      published: false,
    });
    // Parked: the next passes leave it alone, whatever the server would now say.
    answer = (res) => outcome(res, 201, { location: 'Encounter/e-1' });
    expect(await relay.runOnce()).toEqual({ published: 0, failed: 0 });
    expect(await encounterRow(id)).toMatchObject({ attempts: 1, refused: true });
    expect(await metrics.registry.getSingleMetricAsString('vc_outbox_relayed_total')).toContain('kind="fhir_encounter",outcome="refused"} 1');
    const warned = lines.filter((l) => l.includes('refused for good'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain(id);
    expect(lines.join('\n')).not.toMatch(/John Doe|pt-1/);
    expect(JSON.stringify(await encounterRow(id))).not.toMatch(/John Doe/);
    // The documented requeue (apps/service/README.md) hands it back to the relay.
    await queryRows(
      h.db.db,
      sql`update outbox set refused_at = null, refused_reason = null, next_attempt_at = now() where aggregate_id = ${id} and kind = 'fhir_encounter' returning id`,
    );
    answer = (res) => res.writeHead(201, { 'content-type': 'application/fhir+json', location: `${fhir.url}/Encounter/e-${status}` }).end();
    expect(await relay.runOnce()).toEqual({ published: 1, failed: 0 });
  });

  it.each([401, 403, 404, 429])('keeps retrying an Encounter FHIR answers %i: the endpoint or its settings, not this request', async (status) => {
    const id = await endedSession();
    answer = (res) => outcome(res, status);
    expect(await relayWith().runOnce()).toMatchObject({ failed: 1 });
    expect(await encounterRow(id)).toMatchObject({ attempts: 1, refused: false, published: false });
    await queryRows(h.db.db, sql`update outbox set next_attempt_at = now() + interval '1 hour' where aggregate_id = ${id} returning id`);
  });
});
