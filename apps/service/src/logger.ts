import { pino, type Logger } from 'pino';

/**
 * The one logger. Redaction is set here, once: bearer tokens, Jitsi tokens and app secrets, patient refs
 * and display names never reach a log line, whichever object they ride in on.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  '*.jitsiAppSecret',
  '*.appSecret',
  '*.jwt',
  '*.token',
  '*.joinUrl',
  '*.patientRef',
  '*.participantRef',
  '*.displayName',
  '*.subject',
  'principal.sub',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'virtual-care-service' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}

export type { Logger };
