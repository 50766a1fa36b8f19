import { request } from 'node:http';

/** A reply as node:http gives it: headers by lower-case name, the body as text. */
export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request through node:http rather than fetch, which refuses TRACE, follows redirects and adds a
 * Content-Type to a string body: exactly the method and headers given, `Content-Length` set for a body.
 */
export function exchange(url: string, method: string, headers: Record<string, string>, body?: string): Promise<HttpReply> {
  const sent = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: sent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
