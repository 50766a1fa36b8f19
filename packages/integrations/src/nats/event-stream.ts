import { type JetStreamClient, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, ClosedConnectionError, connect, headers, NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import { EventStreamError, redactUrl } from './errors';
import { ensureStreamConfig } from './stream-config';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  DEFAULT_STREAM,
  DEFAULT_SUBJECTS,
  EVENT_DUPLICATE_WINDOW_MS,
  type EventStream,
  type EventStreamOptions,
  type PublishAck,
} from './types';

/**
 * Connects to NATS JetStream. The connection reconnects forever (bounded wait between attempts, jittered) so a
 * NATS restart heals on its own; while it is down `publish` fails at once with a retryable EventStreamError
 * instead of queueing, so the caller's backoff (and its outbox) decide what happens.
 */
export async function connectEventStream(opts: EventStreamOptions): Promise<EventStream> {
  const where = redactUrl(opts.url);
  const reconnectWaitMs = opts.reconnectWaitMs ?? 1_000;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url,
      name: 'virtual-care',
      timeout: opts.timeoutMs ?? 5_000,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: reconnectWaitMs,
      reconnectJitter: Math.ceil(reconnectWaitMs / 2),
      // Notices a half-open connection (server gone without a FIN) within ~20 s.
      pingInterval: 10_000,
      maxPingOut: 2,
    });
  } catch (error) {
    throw new EventStreamError('unavailable', `cannot connect to NATS at ${where}`, { cause: error });
  }
  const state = watchConnection(nc);
  const wanted = {
    name: opts.stream ?? DEFAULT_STREAM,
    subjects: opts.subjects ?? DEFAULT_SUBJECTS,
    duplicateWindowMs: opts.duplicateWindowMs ?? EVENT_DUPLICATE_WINDOW_MS,
  };
  const publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;
  let js: JetStreamClient | undefined;

  return {
    async ensureStream() {
      state.assertUp(where);
      try {
        return await ensureStreamConfig(await jetstreamManager(nc), wanted);
      } catch (error) {
        throw toEventStreamError(error, `ensuring stream ${wanted.name} on ${where}`);
      }
    },
    async publish(subject, payload, msgId): Promise<PublishAck> {
      state.assertUp(where);
      js ??= jetstream(nc);
      const lost = state.whenDown(where);
      try {
        // The CloudEvents NATS binding reads a message as structured mode only when it says so in Content-Type
        // (NATS >= 2.2 has headers; without one a receiver takes it for binary mode, finds no ce-* headers and
        // no event). A fresh header set per message: the client adds Nats-Msg-Id to the one it is given.
        const h = headers();
        h.set('Content-Type', CLOUDEVENTS_CONTENT_TYPE);
        // A connection lost mid-publish fails it now rather than after the ack timeout. The message may
        // still reach the server after the reconnect; the retry's Nats-Msg-Id makes that harmless.
        const ack = await Promise.race([js.publish(subject, payload, { msgID: msgId, headers: h, timeout: publishTimeoutMs }), lost.promise]);
        return { seq: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        throw toEventStreamError(error, `publishing to ${subject}`);
      } finally {
        lost.cancel();
      }
    },
    async close() {
      if (!nc.isClosed()) await nc.close();
      await state.done;
    },
  };
}

/** Follows the connection's status events: up after connect/reconnect, down after a disconnect. */
function watchConnection(nc: NatsConnection) {
  let up = true;
  const onDown = new Set<() => void>();
  const done = (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnecting' || status.type === 'staleConnection') {
        up = false;
        for (const notify of onDown) notify();
      } else if (status.type === 'reconnect') up = true;
    }
  })();
  return {
    done,
    /** A promise that rejects (retryably) when the connection drops; `cancel` once it is no longer needed. */
    whenDown(where: string): { promise: Promise<never>; cancel(): void } {
      let notify = () => {};
      const promise = new Promise<never>((_, reject) => {
        notify = () => reject(new EventStreamError('unavailable', `lost the connection to NATS at ${where}`));
      });
      onDown.add(notify);
      return { promise, cancel: () => onDown.delete(notify) };
    },
    assertUp(where: string) {
      if (nc.isClosed()) throw new EventStreamError('closed', `the connection to NATS at ${where} is closed`);
      if (!up) throw new EventStreamError('unavailable', `NATS at ${where} is unreachable; reconnecting`);
    },
  };
}

function toEventStreamError(error: unknown, what: string): EventStreamError {
  if (error instanceof EventStreamError) return error;
  const cause = (error as { cause?: unknown })?.cause;
  if (error instanceof TimeoutError || cause instanceof TimeoutError)
    return new EventStreamError('timeout', `${what}: no answer from JetStream in time`, { cause: error });
  // No responders (nats.js reports it as JetStreamNotEnabled): JetStream, or a stream capturing this
  // subject, is not there yet — mid-restart, or s0 has not created the stream. Worth retrying later.
  if (error instanceof NoRespondersError || cause instanceof NoRespondersError || (error as Error)?.name === 'JetStreamNotEnabled') {
    return new EventStreamError('unavailable', `${what}: JetStream did not answer (not ready, not enabled, or no stream captures the subject)`, {
      cause: error,
    });
  }
  if (error instanceof ClosedConnectionError) return new EventStreamError('closed', `${what}: the connection is closed`, { cause: error });
  if (error instanceof JetStreamApiError) {
    const code = error.status >= 500 ? 'unavailable' : 'rejected';
    return new EventStreamError(code, `${what}: JetStream refused (${error.status} ${error.code}: ${error.message})`, { cause: error });
  }
  const name = (error as { name?: string })?.name ?? '';
  if (name === 'ConnectionError' || name === 'RequestError') return new EventStreamError('unavailable', `${what}: connection failed`, { cause: error });
  return new EventStreamError('rejected', `${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
