/**
 * stdout carries results only: with `--json`, exactly one JSON object per invocation (docs/design.md §8).
 * This module remembers whether it was printed, so `bin.ts` can print an error object otherwise.
 */
let printed = false;

/** The streams whose reader is gone (`migrator status | head -n 0`, `… --json | true`). */
const closed = new Set<unknown>();

function isClosedPipe(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED' || error.code === 'ECONNRESET';
}

/**
 * A reader that goes away (`| head`) is no failure of the run: without a listener, the stream's 'error' would
 * be an uncaught exception that kills the process mid-run, before the ledger's end row is written. Once the
 * reader is gone, nothing more is written to that stream; the run finishes its own work and exits with its
 * own code (bin.ts). Any other write error is still thrown.
 */
export function quietOnClosedPipes(streams: ReadonlyArray<Pick<NodeJS.EventEmitter, 'on'>> = [process.stdout, process.stderr]): void {
  for (const stream of streams)
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (!isClosedPipe(error)) throw error;
      closed.add(stream);
    });
}

/** Writes `text` unless the stream's reader is gone. */
export function writeTo(stream: NodeJS.WritableStream, text: string): void {
  if (!closed.has(stream)) stream.write(text);
}

export function printJson(value: unknown): void {
  printed = true;
  writeTo(process.stdout, `${JSON.stringify(value, null, 2)}\n`);
}

export function jsonPrinted(): boolean {
  return printed;
}

/** Human output on stdout (tables, summaries) when `--json` is not given. */
export function printText(text: string): void {
  writeTo(process.stdout, text.endsWith('\n') ? text : `${text}\n`);
}

/** A note for the person at the terminal (a plan, a diff) on stderr, as text: stdout stays the result. */
export function printNote(text: string): void {
  writeTo(process.stderr, text.endsWith('\n') ? text : `${text}\n`);
}
