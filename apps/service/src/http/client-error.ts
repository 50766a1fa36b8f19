import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, type ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { toProblem } from './problem';
import { instanceOf, requestIdOf } from './request-id';

/** What Node attaches to the errors of its HTTP parser (llhttp): how far it got in the chunk it was given. */
interface ParserError extends Error {
  code?: string;
  bytesParsed?: number;
  rawPacket?: Buffer;
}

const METHOD_THEN_SPACE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ /;

/**
 * Node counts the request line and the header fields against one limit (`maxHeaderSize`), so an overflow
 * says neither which. The parser stops where the span it was reading ended: a URL ends at the space
 * before `HTTP/1.x`, so an overflow still inside the request line is followed, in the same chunk, by
 * exactly that version and the line's CRLF. A request line cut off by the end of the chunk counts when the
 * chunk starts with it. Anything else is the header fields.
 */
function overflowCode(error: ParserError): ErrorCode {
  const raw = error.rawPacket;
  const at = error.bytesParsed;
  if (!Buffer.isBuffer(raw) || typeof at !== 'number') return 'header_fields_too_large';
  const lineEnd = raw.indexOf('\r\n');
  if (lineEnd === -1) return METHOD_THEN_SPACE.test(raw.subarray(0, 64).toString('latin1')) ? 'uri_too_long' : 'header_fields_too_large';
  const rest = raw.subarray(at, lineEnd).toString('latin1');
  return at < lineEnd && /^ HTTP\/\d\.\d$/.test(rest) ? 'uri_too_long' : 'header_fields_too_large';
}

function problemOf(error: ParserError): AppError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return overflowCode(error) === 'uri_too_long'
        ? new AppError('uri_too_long', 'the request line exceeds the size this server reads')
        : new AppError('header_fields_too_large', 'the request header fields exceed the size this server reads');
    // headersTimeout / requestTimeout ran out before the request was complete.
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('request_timeout', 'the request was not received in time');
    default:
      // Malformed request line or header, unknown method, Content-Length with Transfer-Encoding, a bad
      // chunk: which rule the bytes broke is the parser's error code; the bytes themselves are never echoed.
      return new AppError('bad_request', 'the request is not valid HTTP/1.1 and could not be parsed');
  }
}

/**
 * `clientError` of the HTTP server: what Node's parser refuses never reaches Express, and Node's own reply
 * is a bare status line. This one is a problem+json like every other error, with `Connection: close` (the
 * stream cannot be trusted past the error). It is written only to a writable socket on which no reply has
 * started or is owed (a pipelined request's reply must not be corrupted or preempted); otherwise the socket is just
 * destroyed, but for a request timeout while that owed reply's own request body is still arriving: the 408 is
 * then that reply. Only the parser's error code (and the id the problem's `instance` names) is logged: the raw
 * request may hold PHI and tokens.
 */
export function clientErrorHandler(logger: Logger): (error: ParserError, socket: Socket) => void {
  return (error, socket) => {
    // The earliest reply this connection still owes; later ones wait behind it.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && inFlight && !inFlight.headersSent && !inFlight.req.complete && socket.writable) {
      // requestTimeout ran out while the body of that very request was arriving (no later request can have
      // started before it is complete): its own reply is the 408, logged as the request's line.
      const problem = problemOf(error);
      const body = JSON.stringify(toProblem(problem, instanceOf(requestIdOf(inFlight.req))));
      inFlight.writeHead(problem.status, {
        'Content-Type': 'application/problem+json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        Connection: 'close',
      });
      inFlight.end(body);
      return;
    }
    // A reply still owed to an earlier request on this connection: anything written now would be read as it.
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight) {
      socket.destroy();
      return;
    }
    const problem = problemOf(error);
    // No request object exists: the id is made here, logged as a request's would be, and named by `instance`.
    const id = randomUUID();
    logger.info({ req: { id }, code: error.code, status: problem.status }, 'refused a request the HTTP parser could not read');
    const body = JSON.stringify(toProblem(problem, instanceOf(id)));
    const head = [
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}`,
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      'X-Content-Type-Options: nosniff',
      'Connection: close',
    ];
    // Ending (not destroying) lets the reply reach a client still sending: a reset could discard it unread.
    // A client that never closes its side is cut off shortly after.
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), 2_000).unref();
  };
}
