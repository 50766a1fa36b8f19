/** Why an HTTP exchange failed, in the terms a client maps to its own error class. */
export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'network' | 'status' | 'not_json',
    readonly status: number | undefined,
    options?: { cause?: unknown; body?: unknown },
  ) {
    super(message, options);
    this.body = options?.body;
  }

  /** The error reply's parsed JSON body, for clients whose servers explain themselves (Kong). Never put in a message unread. */
  readonly body: unknown;

  /** Worth another attempt: the far side was slow, away or in trouble (5xx, 429), not our request. */
  get retryable(): boolean {
    return this.kind === 'timeout' || this.kind === 'network' || (this.status !== undefined && (this.status >= 500 || this.status === 429));
  }
}

/** A JSON reply: status, headers and the parsed body (undefined when empty). */
export interface JsonReply {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * One fetch with a timeout that parses a JSON reply. Statuses in `accept` (default: 2xx) resolve; others
 * throw {@link HttpFailure}. Messages carry the status only: bodies and URLs may hold PHI or secrets.
 */
export async function requestJson(url: string, init: RequestInit & { timeoutMs: number; accept?: (status: number) => boolean }): Promise<JsonReply> {
  const { timeoutMs, accept = (s) => s >= 200 && s < 300, ...rest } = init;
  let response: Response;
  try {
    response = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    const timedOut = cause instanceof DOMException && cause.name === 'TimeoutError';
    throw timedOut
      ? new HttpFailure(`no answer within ${timeoutMs} ms`, 'timeout', undefined, { cause })
      : new HttpFailure('unreachable', 'network', undefined, { cause });
  }
  const text = await response.text();
  if (!accept(response.status)) throw new HttpFailure(`answered ${response.status}`, 'status', response.status, { body: parseOrUndefined(text) });
  try {
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch (cause) {
    throw new HttpFailure(`answered ${response.status} with ${text.length} bytes that are not JSON`, 'not_json', response.status, { cause });
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}
