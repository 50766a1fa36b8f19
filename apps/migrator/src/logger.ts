import pino, { type Logger } from 'pino';

/**
 * The one logger: JSON lines on stderr (stdout carries only results, e.g. the `--json` summary).
 * Redaction is set here once, so a secret or a patient reference that slips into a log object is
 * censored rather than written.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { app: 'migrator' },
      redact: {
        paths: ['*.appSecret', '*.credentials', '*.password', '*.token', '*.jwt', '*.patientRef', '*.patient_ref', '*.displayName', '*.actorDisplay', '*.raw', '*.VC_LEGACY_MASTER_KEY', 'appSecret', 'raw'],
        censor: '[redacted]',
      },
    },
    // Synchronous: the process may exit right after a failure line and must not lose it.
    pino.destination({ dest: 2, sync: true }),
  );
}

export type { Logger };
