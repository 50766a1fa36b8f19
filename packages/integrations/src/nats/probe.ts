import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EventStreamError, redactUrl } from './errors';

/** A stream as a probe found it: absent, or its retention and message count. */
export type StreamProbe = { present: false } | { present: true; retention: string; messages: number };

/**
 * Looks at JetStream without changing it (`migrator preflight`): connects once (no reconnects), asks for
 * the account's JetStream info and each named stream's. Throws {@link EventStreamError} when NATS cannot
 * be reached or JetStream is not enabled.
 */
export async function probeJetStream(opts: { url: string; streams: readonly string[]; timeoutMs?: number }): Promise<Record<string, StreamProbe>> {
  const where = redactUrl(opts.url);
  const nc = await connect({ servers: opts.url, name: 'virtual-care-preflight', timeout: opts.timeoutMs ?? 5_000, reconnect: false }).catch(
    (error: unknown) => {
      throw new EventStreamError('unavailable', `cannot connect to NATS at ${where}`, { cause: error });
    },
  );
  try {
    const jsm = await jetstreamManager(nc, { timeout: opts.timeoutMs ?? 5_000 }).catch((error: unknown) => {
      throw new EventStreamError('unavailable', `NATS at ${where} answers, but JetStream is not enabled for this account (start nats-server with -js)`, {
        cause: error,
      });
    });
    const out: Record<string, StreamProbe> = {};
    for (const name of opts.streams) {
      const info = await jsm.streams.info(name).catch((error: unknown) => {
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
        throw error;
      });
      out[name] = info ? { present: true, retention: String(info.config.retention), messages: info.state.messages } : { present: false };
    }
    return out;
  } finally {
    await nc.close();
  }
}
