import pino, { type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { quietOnClosedPipes } from './output';
import { stderrIsTerminal, writeStderr } from './terminal';

/**
 * The one logger, on stderr (stdout carries only results, e.g. the `--json` summary): JSON lines for
 * machines (CI, a log shipper), pretty lines on a terminal, written above the live progress rows
 * (terminal.ts) so a log line never lands inside one. Redaction is set here once, so a secret or a
 * patient reference that slips into a log object is censored rather than written.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { app: 'migrator' },
      redact: {
        paths: [
          '*.appSecret',
          '*.credentials',
          '*.password',
          '*.token',
          '*.jwt',
          '*.patientRef',
          '*.patient_ref',
          '*.displayName',
          '*.actorDisplay',
          '*.raw',
          '*.VC_LEGACY_MASTER_KEY',
          'appSecret',
          'raw',
        ],
        censor: '[redacted]',
      },
    },
    stderrIsTerminal() ? prettyOnTerminal() : jsonLines(),
  );
}

/** JSON lines on fd 2, synchronous; a reader of stderr that went away (`2>&1 | head`) does not end the run. */
function jsonLines(): DestinationStream {
  const destination = pino.destination({ dest: 2, sync: true });
  quietOnClosedPipes([destination]);
  return destination;
}

/**
 * pino-pretty's formatter called in-line, not its transport: the transport is a stream pipeline that
 * could lose the line a failing run prints just before it exits. Synchronous, like the JSON destination.
 */
function prettyOnTerminal(): DestinationStream {
  const pretty = prettyFactory({ colorize: true, ignore: 'pid,hostname,app', translateTime: 'SYS:HH:MM:ss' });
  return { write: (line: string) => writeStderr(pretty(line)) };
}

export type { Logger };
