/** The `VIRTUAL_CARE` JetStream stream: CloudEvents on `virtual_care.<entity>.<verb>`. */
export const DEFAULT_STREAM = 'VIRTUAL_CARE';
export const DEFAULT_SUBJECTS = ['virtual_care.>'] as const;

/**
 * The VIRTUAL_CARE stream's `Nats-Msg-Id` de-duplication window, the one setting every writer of the stream's
 * configuration (the service at start, `migrator phase s0`) uses: longer than the outbox relay's lease, so a row
 * re-sent after a crashed relay's lease ran out is still de-duplicated (docs/design.md §7, "a relay restart never
 * duplicates an event"). JetStream's client default (2 minutes) is shorter than that.
 */
export const EVENT_DUPLICATE_WINDOW_MS = 10 * 60_000;

/** The `Content-Type` of every message on the stream: one CloudEvent in JSON, structured mode, UTF-8. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export interface EventStreamOptions {
  url: string;
  /** Stream name; tests pass their own so they can share one nats-server. */
  stream?: string;
  subjects?: readonly string[];
  /**
   * JetStream de-duplication window for `Nats-Msg-Id`; default {@link EVENT_DUPLICATE_WINDOW_MS}. An existing stream's
   * longer window is kept (`ensureStream` never shortens it).
   */
  duplicateWindowMs?: number;
  /** Connection attempt timeout. */
  timeoutMs?: number;
  /** How long a publish waits for JetStream's ack before failing retryably; default 5 s. */
  publishTimeoutMs?: number;
  /** Wait between reconnect attempts (plus up to half of it as jitter); default 1 s. Reconnects never stop. */
  reconnectWaitMs?: number;
}

export interface PublishAck {
  seq: number;
  /** True when JetStream had already stored a message with this `Nats-Msg-Id`. */
  duplicate: boolean;
}

export interface EventStream {
  /** Creates the stream, or updates it when its subjects or settings differ. Idempotent. */
  ensureStream(): Promise<'created' | 'updated' | 'unchanged'>;
  /**
   * Publishes `payload`, a CloudEvent serialized as JSON (structured mode), with `Nats-Msg-Id` = msgId, so a
   * retried publish is stored once, and `Content-Type` = {@link CLOUDEVENTS_CONTENT_TYPE}.
   */
  publish(subject: string, payload: Uint8Array, msgId: string): Promise<PublishAck>;
  close(): Promise<void>;
}
