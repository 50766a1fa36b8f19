import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { configureTenant, type Harness, practitioner, readStream, scheduleSession, startHarness } from '../testing/harness';
import { OutboxRelay } from './relay';

/**
 * The relay leaves `data.cancelReason` out of what it publishes, whoever wrote the row: here the row of a
 * cancel as the release before the last wrote it (the reason in the event's data), published to real
 * JetStream from real PostgreSQL.
 */
const API = '/api/v1/virtual-care';
const TENANT = 'withheld';
const CANCEL_REASON = 'Pt admitted to ER with chest pain, DOB 1961-02-03';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, TENANT);
});
afterAll(async () => {
  await h?.close();
});

describe('an outbox event whose data holds the cancel reason', () => {
  it('is published without it (the rest of the event as written) and the log names the field, not its value', async () => {
    const id = await scheduleSession(h, TENANT);
    expect((await h.call('POST', `${API}/sessions/${id}/cancel`, { as: practitioner(TENANT), body: { reason: CANCEL_REASON } })).status).toBe(200);
    // What the earlier release wrote: the reason in the event's data.
    const [row] = await queryRows<{ id: string; payload: { data: Record<string, unknown> } }>(
      h.db.db,
      sql`update outbox set payload = jsonb_set(payload, '{data,cancelReason}', to_jsonb(${CANCEL_REASON}::text))
          where aggregate_id = ${id} and subject = 'virtual_care.session.cancelled' returning id, payload`,
    );
    expect(row!.payload.data.cancelReason).toBe(CANCEL_REASON);

    const lines: string[] = [];
    const relay = new OutboxRelay({
      db: h.db.db,
      eventStream: h.eventStream,
      fhir: undefined,
      logger: createLogger('trace', { write: (line: string) => void lines.push(line) }),
      subjectPrefix: h.stream.prefix,
    });
    expect((await relay.runOnce()).failed).toBe(0);

    const messages = (await readStream(h.stream.natsUrl, h.stream.name)).filter((m) => m.event.subject === id);
    expect(messages.map((m) => m.event.type)).toEqual(['virtual_care.session.created', 'virtual_care.session.cancelled']);
    const cancelled = messages[1]!;
    expect(cancelled.msgId).toBe(row!.id);
    const { cancelReason: _withheld, ...kept } = row!.payload.data;
    expect(cancelled.event).toEqual({ ...row!.payload, data: kept });
    expect(kept).toMatchObject({ status: 'cancelled' });
    expect(JSON.stringify(messages)).not.toContain('chest pain');

    const [published] = await queryRows<{ published: boolean }>(h.db.db, sql`select published_at is not null as published from outbox where id = ${row!.id}`);
    expect(published!.published).toBe(true);
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.outboxId === row!.id);
    expect(warnings).toEqual([expect.objectContaining({ eventType: 'virtual_care.session.cancelled', withheld: ['cancelReason'] })]);
    expect(lines.join('\n')).not.toContain('chest pain');
  });
});
