import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger';
import { requestIdOf } from './request-id';

const OPERATIONAL = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line per request at `info` (pino-http). Below `info` pino-http would still build a child logger
 * and serialize every request for the only lines it can then write, those of 5xx replies: at `warn` and
 * above this middleware writes those same lines (message, level, req and res fields) and builds nothing
 * for the others.
 */
export function requestLogging(logger: Logger): RequestHandler {
  // The URL's query may carry patient refs (GET /sessions?patientRef=…): log the path only.
  const req = (r: { method: string; url: string; id?: unknown }) => ({ id: r.id, method: r.method, path: r.url.split('?')[0] });
  const res = (r: { statusCode: number }) => ({ statusCode: r.statusCode });
  if (logger.isLevelEnabled('info')) {
    // The id is the server's own UUID (see requestIdOf), the one a problem's `instance` names.
    return pinoHttp({ logger, genReqId: requestIdOf, serializers: { req, res }, autoLogging: { ignore: (r) => OPERATIONAL.has(r.url ?? '') } });
  }
  return (request, response, next) => {
    const started = Date.now();
    response.once('finish', () => {
      if (response.statusCode < 500 || OPERATIONAL.has(request.url)) return;
      // Made here only for a 5xx that did not pass the problem handler, which gives its problem's id.
      requestIdOf(request);
      logger.error({ req: req(request), res: res(response), responseTime: Date.now() - started }, 'request errored');
    });
    next();
  };
}
