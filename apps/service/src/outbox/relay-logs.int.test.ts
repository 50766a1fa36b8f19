import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FhirClient } from '@vc/integrations/fhir';
import type { EventStream } from '@vc/integrations/nats';
import { createLogger } from '../logger';
import { configureTenant, type Harness, practitioner, scheduleSession, startHarness } from '../testing/harness';
import { OutboxRelay } from './relay';

/**
 * A failed delivery is logged as a safe error (class and code), never its message: NATS' or a FHIR
 * server's error may quote what was sent (the CloudEvent or Encounter, with the patient ref). The rows are
 * real (PostgreSQL); only the two targets are stand-ins that fail with the row's payload in their message.
 */
const API = '/api/v1/virtual-care';
const PATIENT = 'Patient/relay-canary-5521';
const DISPLAY_NAME = 'Relay Canary Name';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, 'relay-logs');
});
afterAll(async () => {
  await h?.close();
});

/** An error whose message and cause quote the payload, as a chatty server's would. */
const quoting = (name: string, code: string, payload: unknown) =>
  Object.assign(new Error(`refused ${JSON.stringify(payload)}`, { cause: new Error(`upstream said: ${JSON.stringify(payload)}`) }), { name, code });

describe('outbox delivery failures in the log', () => {
  it('carry the row id, kind, error class and code, never the payload quoted in the message', async () => {
    const id = await scheduleSession(h, 'relay-logs', PATIENT);
    expect((await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('relay-logs'), body: { displayName: DISPLAY_NAME } })).status).toBe(200);
    expect((await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('relay-logs'), body: {} })).status).toBe(200);

    const lines: string[] = [];
    const eventStream = {
      publish: async (_subject: string, payload: Uint8Array) => Promise.reject(quoting('NatsError', '503', new TextDecoder().decode(payload))),
    } as unknown as EventStream;
    const fhir = {
      createEncounterIfAbsent: async (encounter: unknown) => Promise.reject(quoting('IntegrationError', 'fhir_rejected', encounter)),
    } as unknown as FhirClient;
    const relay = new OutboxRelay({ db: h.db.db, eventStream, fhir, logger: createLogger('trace', { write: (line: string) => void lines.push(line) }) });
    const pass = await relay.runOnce();
    expect(pass.published).toBe(0);
    expect(pass.failed).toBeGreaterThanOrEqual(2);

    const failures = lines
      .map((l) => JSON.parse(l) as { msg: string; kind: string; outboxId: string; err?: { name: string; code?: string; cause?: { name: string } } })
      .filter((l) => l.msg === 'outbox delivery failed; will retry');
    // One line per target that was tried: the rest of a failed target's rows wait for the next pass untried.
    expect(failures.map((f) => [f.kind, f.err?.name, f.err?.code]).sort()).toEqual([
      ['event', 'NatsError', '503'],
      ['fhir_encounter', 'IntegrationError', 'fhir_rejected'],
    ]);
    expect(failures.every((f) => f.outboxId && f.err?.cause?.name === 'Error')).toBe(true);
    const log = lines.join('\n');
    for (const value of [PATIENT, 'relay-canary', DISPLAY_NAME, 'refused', 'upstream said']) expect(log).not.toContain(value);
  });
});
