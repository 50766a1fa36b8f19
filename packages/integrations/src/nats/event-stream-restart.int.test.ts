import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRetry } from '../retry';
import { EventStreamError } from './errors';
import { connectEventStream } from './event-stream';
import { type NatsServerProcess, startNatsServer } from './nats-server';
import type { EventStream } from './types';

// This file runs its own nats-server: it stops it, which the shared one of the test run must never see.
let server: NatsServerProcess;
let events: EventStream;
const encode = (text: string) => new TextEncoder().encode(text);
const isRetryable = (e: unknown) => e instanceof EventStreamError && e.retryable;

beforeAll(async () => {
  server = await startNatsServer();
  events = await connectEventStream({ url: server.url, stream: 'VC_RESTART', subjects: ['restart.>'], reconnectWaitMs: 100, publishTimeoutMs: 1_000 });
  await events.ensureStream();
});
afterAll(async () => {
  await events?.close();
  await server?.dispose();
});

describe('an event stream across a nats-server restart', () => {
  it('fails publishes retryably while NATS is down and publishes again once it is back, on the same store', async () => {
    const before = await events.publish('restart.session.ended', encode('before'), 'event-before');

    await server.stop();
    const whileDown = await events.publish('restart.session.ended', encode('down'), randomUUID()).catch((e: unknown) => e);
    expect(whileDown).toBeInstanceOf(EventStreamError);
    expect((whileDown as EventStreamError).code).toBe('unavailable');
    expect((whileDown as EventStreamError).retryable).toBe(true);

    await server.start();
    const after = await withRetry(() => events.publish('restart.session.ended', encode('after'), 'event-after'), {
      retries: 100,
      baseMs: 50,
      maxMs: 200,
      isRetryable,
    });
    expect(after.duplicate).toBe(false);
    expect(after.seq).toBeGreaterThan(before.seq);
    // The file store kept the message and its id across the restart: re-publishing it is recognised.
    const again = await withRetry(() => events.publish('restart.session.ended', encode('before'), 'event-before'), { retries: 20, baseMs: 50, isRetryable });
    expect(again).toEqual({ seq: before.seq, duplicate: true });
    expect(await events.ensureStream()).toBe('unchanged');
  });
});
