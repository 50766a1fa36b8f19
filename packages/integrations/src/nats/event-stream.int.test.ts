import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamError } from './errors';
import { connectEventStream } from './event-stream';
import type { EventStream } from './types';

// The shared nats-server of the test run: this file's own stream name and subject prefix.
const url = process.env.VC_TEST_NATS_URL!;
const tag = randomUUID().replaceAll('-', '').slice(0, 12);
const stream = `VC_TEST_${tag}`;
const prefix = `t${tag}`;
const subjects = [`${prefix}.>`];
const encode = (text: string) => new TextEncoder().encode(text);

async function streamInfo(name: string) {
  const nc = await connect({ servers: url });
  try {
    return await (await jetstreamManager(nc)).streams.info(name);
  } finally {
    await nc.close();
  }
}

let events: EventStream;
beforeAll(async () => {
  if (!url) throw new Error('VC_TEST_NATS_URL is not set: run through `pnpm test`');
  events = await connectEventStream({ url, stream, subjects, duplicateWindowMs: 60_000 });
});
afterAll(async () => {
  await events?.close();
  const nc = await connect({ servers: url });
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
  await nc.close();
});

describe('connectEventStream on nats-server -js', () => {
  it('creates the stream with file storage, its subjects and duplicate window, then finds it unchanged', async () => {
    expect(await events.ensureStream()).toBe('created');
    expect(await events.ensureStream()).toBe('unchanged');
    const { config } = await streamInfo(stream);
    expect(config.subjects).toEqual(subjects);
    expect(config.storage).toBe('file');
    expect(config.duplicate_window).toBe(60_000 * 1_000_000);
  });

  it('updates the stream when the subjects change or the duplicate window grows, keeping its messages', async () => {
    await events.ensureStream();
    await events.publish(`${prefix}.kept.before_update`, encode('{}'), `kept-${tag}`);
    const wider = await connectEventStream({ url, stream, subjects: [...subjects, `${prefix}_extra.>`], duplicateWindowMs: 120_000 });
    try {
      expect(await wider.ensureStream()).toBe('updated');
      expect(await wider.ensureStream()).toBe('unchanged');
      const info = await streamInfo(stream);
      expect(info.config.subjects).toEqual([...subjects, `${prefix}_extra.>`]);
      expect(info.config.duplicate_window).toBe(120_000 * 1_000_000);
      expect(info.state.messages).toBeGreaterThanOrEqual(1);
    } finally {
      await wider.close();
    }
    // Back to this file's subjects for the other tests; the longer window stays (a stream's window is never shortened).
    expect(await events.ensureStream()).toBe('updated');
    expect((await streamInfo(stream)).config.duplicate_window).toBe(120_000 * 1_000_000);
    expect(await events.ensureStream()).toBe('unchanged');
  });

  it('stores a message published twice with the same Nats-Msg-Id once', async () => {
    await events.ensureStream();
    const subject = `${prefix}.session.ended`;
    const before = (await streamInfo(stream)).state.messages;
    const msgId = randomUUID();
    const first = await events.publish(subject, encode('{"n":1}'), msgId);
    const second = await events.publish(subject, encode('{"n":1}'), msgId);
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ seq: first.seq, duplicate: true });
    expect((await streamInfo(stream)).state.messages).toBe(before + 1);
  });

  it('marks every message as a structured-mode CloudEvent: Content-Type application/cloudevents+json, beside Nats-Msg-Id', async () => {
    await events.ensureStream();
    const msgId = randomUUID();
    const { seq } = await events.publish(`${prefix}.session.cancelled`, encode('{"specversion":"1.0"}'), msgId);
    const nc = await connect({ servers: url });
    try {
      const msg = await (await jetstreamManager(nc)).streams.getMessage(stream, { seq });
      expect(msg?.header?.get('Content-Type')).toBe('application/cloudevents+json; charset=utf-8');
      expect(msg?.header?.get('Nats-Msg-Id')).toBe(msgId);
      expect(msg?.string()).toBe('{"specversion":"1.0"}');
    } finally {
      await nc.close();
    }
  });

  it('gives different ids their own sequence numbers', async () => {
    await events.ensureStream();
    const a = await events.publish(`${prefix}.session.created`, encode('a'), randomUUID());
    const b = await events.publish(`${prefix}.session.created`, encode('b'), randomUUID());
    expect(b.seq).toBe(a.seq + 1);
  });

  it('fails retryably when no stream captures the subject (JetStream not ready, or s0 not run yet)', async () => {
    const error = await events.publish(`${prefix}_nostream.x`, encode('x'), randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStreamError);
    expect((error as EventStreamError).code).toBe('unavailable');
    expect((error as EventStreamError).message).toBe(
      `publishing to ${prefix}_nostream.x: JetStream did not answer (not ready, not enabled, or no stream captures the subject)`,
    );
  });

  it('fails with a closed (not retryable) error after close', async () => {
    const other = await connectEventStream({ url, stream, subjects });
    await other.close();
    const error = await other.publish(`${prefix}.x`, encode('x'), randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStreamError);
    expect((error as EventStreamError).code).toBe('closed');
    expect((error as EventStreamError).retryable).toBe(false);
  });

  it('refuses to connect to a port where no NATS listens with a retryable unavailable error', async () => {
    const error = await connectEventStream({ url: 'nats://user:hunter2@127.0.0.1:1', timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStreamError);
    expect((error as EventStreamError).code).toBe('unavailable');
    expect((error as EventStreamError).retryable).toBe(true);
    expect((error as EventStreamError).message).toBe('cannot connect to NATS at nats://127.0.0.1:1');
  });
});
