import { type Caller, signCallerToken } from './tokens';

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A call that did not get the status the walk-through expects; names the call and the problem type only. */
export class UnexpectedReply extends Error {
  override readonly name = 'UnexpectedReply';
}

export interface ServiceApi {
  call(method: string, path: string, options: { as: Caller; body?: unknown; expect: number | readonly number[] }): Promise<Reply>;
}

/** A JSON client of `/api/v1/virtual-care` over real HTTP, signing a fresh token per call. */
export function serviceApi(baseUrl: string, secret: string): ServiceApi {
  return {
    async call(method, path, { as, body, expect }) {
      const headers: Record<string, string> = { authorization: `Bearer ${signCallerToken(as, secret, new Date())}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${baseUrl}/api/v1/virtual-care${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      const parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      const wanted = typeof expect === 'number' ? [expect] : expect;
      if (!wanted.includes(response.status)) {
        // problem+json `type` and `title` are stable and carry no PHI; the body's detail might, so it stays out.
        const problem = typeof parsed.type === 'string' ? ` (${parsed.type}${typeof parsed.title === 'string' ? `: ${parsed.title}` : ''})` : '';
        throw new UnexpectedReply(`${method} ${path} as ${as.roles.join(',')} answered ${response.status}${problem}, expected ${wanted.join(' or ')}`);
      }
      return { status: response.status, body: parsed };
    },
  };
}
