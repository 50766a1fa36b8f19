import { IntegrationError, type IntegrationSystem } from '../errors';

/** A JSON reply: status, headers and the parsed body (undefined when empty). */
export interface JsonReply {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Who is asked and for what, so every failure reads `<what>: <peer> answered 503` whichever client made it. */
export interface RequestJsonInit extends RequestInit {
  timeoutMs: number;
  system: IntegrationSystem;
  /** The operation, with the tenant or entity it concerns, e.g. `consent upsert for tenant acme`. */
  what: string;
  /** The far side as messages name it (`access-policy`, `Kong Admin API`); omitted when `what` says it already. */
  peer?: string;
  /** Statuses that resolve; default 2xx. */
  accept?: (status: number) => boolean;
  /** A short, PHI-free summary of an error reply's body, appended in parentheses (Kong's `message`, FHIR issue codes). */
  explain?: (body: unknown) => string | undefined;
}

/** 408, 429 and 5xx are worth another try; any other 4xx will fail the same way again. */
const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * One fetch with a timeout that parses a JSON reply, for every HTTP client here. Statuses in `accept` resolve;
 * anything else throws an {@link IntegrationError} of `system`. Messages carry the status only: bodies and
 * URLs may hold PHI or secrets.
 */
export async function requestJson(url: string, init: RequestJsonInit): Promise<JsonReply> {
  const { timeoutMs, system, what, peer, accept = (s) => s >= 200 && s < 300, explain, ...rest } = init;
  const said = (event: string) => (peer ? `${what}: ${peer} ${event}` : `${what} ${event}`);
  let response: Response;
  try {
    response = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    const timedOut = cause instanceof DOMException && cause.name === 'TimeoutError';
    const message = timedOut ? `${what}: no answer within ${timeoutMs} ms` : said('unreachable');
    throw new IntegrationError(message, { system, retryable: true, cause });
  }
  const text = await response.text();
  const status = response.status;
  if (!accept(status)) {
    const detail = explain?.(parseOrUndefined(text));
    throw new IntegrationError(said(`answered ${status}${detail ? ` (${detail})` : ''}`), { system, status, retryable: isRetryableStatus(status) });
  }
  try {
    return { status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch (cause) {
    throw new IntegrationError(said(`answered ${status} with ${text.length} bytes that are not JSON`), { system, status, retryable: false, cause });
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}
