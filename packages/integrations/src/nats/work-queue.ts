import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EventStreamError, redactUrl } from './errors';
import type { PublishAck } from './types';

/**
 * The migrator's work queue: a JetStream stream with work-queue retention (a message is removed once a
 * worker acks it) and one durable pull consumer every worker shares. Only nats-server 2.9 features:
 * explicit acks, `+WPI` in-progress acks, `-NAK` with a delay, `+TERM` without a reason.
 */
export const WORK_STREAM = 'VC_MIGRATION_WORK';
export const WORK_CONSUMER = 'migrator-workers';
const NANOS_PER_MS = 1_000_000;
/** Long enough that an operator re-running `enqueue` within the hour is de-duplicated by JetStream itself. */
const DUPLICATE_WINDOW_MS = 60 * 60_000;
// JetStream API error code "stream name already in use" (a concurrent create).
const STREAM_NAME_IN_USE = 10058;

export interface WorkQueueOptions {
  url: string;
  /** `VC_NATS_SUBJECT_PREFIX`: empty or a token ending in a dot. */
  subjectPrefix: string;
  /** Stream name; tests pass their own so they can share one nats-server. Default VC_MIGRATION_WORK. */
  stream?: string;
  /** How long a delivered item may go without an ack or heartbeat before it goes to another worker (consumer creation only). */
  ackWaitMs?: number;
}

/** One delivered work item. */
export interface WorkMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /** In-progress ack: resets the consumer's AckWait for this item. */
  working(): void;
  ack(): Promise<void>;
  /** Redeliver after `delayMs` (0: at once). */
  nak(delayMs: number): void;
  /** Never redeliver. */
  term(): void;
}

export interface WorkQueue {
  /** The subject of an item; `tokens` are sanitised to subject-safe tokens. */
  subject(...tokens: string[]): string;
  /**
   * Creates the work-queue stream when absent (S0 does this next to VIRTUAL_CARE); an existing one with
   * another retention is an error, since retention cannot change in place.
   */
  ensureStream(): Promise<'created' | 'unchanged'>;
  /** The stream, then the durable consumer when absent (an existing consumer is left as it is). */
  ensure(): Promise<void>;
  publish(subject: string, payload: Uint8Array, msgId: string): Promise<PublishAck>;
  /**
   * Up to `max` items, waiting at most `expiresMs`; stops early when `signal` aborts. The pull is over
   * when this resolves, so a long item is not watched by the pull's idle-heartbeat monitor.
   */
  fetch(max: number, expiresMs: number, signal: AbortSignal): Promise<WorkMessage[]>;
  /** Items on the stream not yet acked (work-queue retention removes acked ones). */
  messages(): Promise<number>;
  /** The consumer's AckWait as the server has it. */
  ackWaitMs(): Promise<number>;
  close(): Promise<void>;
}

const token = (value: string) => value.replace(/[^A-Za-z0-9_-]/g, '_');

function wrap(msg: JsMsg): WorkMessage {
  return {
    subject: msg.subject,
    data: msg.data,
    deliveryCount: msg.info.deliveryCount,
    working: () => msg.working(),
    ack: async () => void (await msg.ackAck()),
    nak: (delayMs) => msg.nak(delayMs),
    term: () => msg.term(),
  };
}

export async function connectWorkQueue(opts: WorkQueueOptions): Promise<WorkQueue> {
  const where = redactUrl(opts.url);
  const stream = opts.stream ?? WORK_STREAM;
  const nc = await connect({
    servers: opts.url,
    name: 'virtual-care-migrator',
    reconnect: true,
    maxReconnectAttempts: -1,
    pingInterval: 10_000,
    maxPingOut: 2,
  }).catch((error: unknown) => {
    throw new EventStreamError('unavailable', `cannot connect to NATS at ${where}`, { cause: error });
  });
  const js = jetstream(nc);
  const subjects = [`${opts.subjectPrefix}vc.migrate.>`];
  const ensureStream = async (): Promise<'created' | 'unchanged'> => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw error;
    });
    if (info) {
      if (info.config.retention !== RetentionPolicy.Workqueue) {
        throw new EventStreamError(
          'invalid_config',
          `stream ${stream} exists with ${info.config.retention} retention, expected workqueue; retention cannot change in place, recreate it`,
        );
      }
      return 'unchanged';
    }
    try {
      await jsm.streams.add({
        name: stream,
        subjects,
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: DUPLICATE_WINDOW_MS * NANOS_PER_MS,
      });
    } catch (error) {
      // Another process (a second S0, an enqueue) created it between our info and add: check theirs.
      if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE) return ensureStream();
      throw error;
    }
    return 'created';
  };
  return {
    subject: (...tokens) => `${opts.subjectPrefix}vc.migrate.${tokens.map(token).join('.')}`,
    ensureStream,
    async ensure() {
      await ensureStream();
      const jsm = await jetstreamManager(nc);
      const consumer = await jsm.consumers.info(stream, WORK_CONSUMER).catch(() => undefined);
      if (!consumer) {
        await jsm.consumers.add(stream, {
          durable_name: WORK_CONSUMER,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: (opts.ackWaitMs ?? 30_000) * NANOS_PER_MS,
          // Workers count real failures in PostgreSQL (a worker that died, by the next delivery) and term past their max; lock
          // refusals, drains and waits for other items are deliveries too but no failures, and an exhausted max_deliver
          // would drop the item with nothing recorded in the plan.
          max_deliver: -1,
        });
      }
    },
    async publish(subject, payload, msgId) {
      const ack = await js.publish(subject, payload, { msgID: msgId, timeout: 5_000 });
      return { seq: ack.seq, duplicate: ack.duplicate };
    },
    async fetch(max, expiresMs, signal) {
      const consumer = await js.consumers.get(stream, WORK_CONSUMER);
      const batch = await consumer.fetch({ max_messages: max, expires: expiresMs });
      const stop = () => batch.stop();
      signal.addEventListener('abort', stop, { once: true });
      const got: WorkMessage[] = [];
      try {
        for await (const msg of batch) got.push(wrap(msg));
      } finally {
        signal.removeEventListener('abort', stop);
      }
      return got;
    },
    async messages() {
      return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    },
    async ackWaitMs() {
      const jsm = await jetstreamManager(nc);
      return ((await jsm.consumers.info(stream, WORK_CONSUMER)).config.ack_wait ?? 30_000 * NANOS_PER_MS) / NANOS_PER_MS;
    },
    async close() {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}
