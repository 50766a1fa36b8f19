/** The `VIRTUAL_CARE` JetStream stream: CloudEvents on `virtual_care.<entity>.<verb>`. */
export const DEFAULT_STREAM = 'VIRTUAL_CARE';
export const DEFAULT_SUBJECTS = ['virtual_care.>'] as const;

/** The `Content-Type` of every message on the stream: one CloudEvent in JSON, structured mode, UTF-8. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export interface EventStreamOptions {
  url: string;
  /** Stream name; tests pass their own so they can share one nats-server. */
  stream?: string;
  subjects?: readonly string[];
  /** JetStream de-duplication window for `Nats-Msg-Id`; default 2 minutes; relays that may retry later want it longer. */
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
