import { writeTo } from './output';

/**
 * stderr as an operator's terminal shares it: at most one live region (a spinner line, or one row per
 * tenant) at the bottom, and every other line — a log record, a signal notice — written above it. Writing
 * through {@link writeStderr} clears the region first and redraws it after, so a log line never lands
 * inside a progress line. Without a terminal there is no live region and this is a plain write.
 */
export interface LiveRegion {
  /** Erases what the region drew, leaving the cursor where its first line was. */
  clear(): void;
  /** Draws it again below the cursor. */
  redraw(): void;
}

let live: LiveRegion | undefined;

/** The region now on screen, or none; a second region replaces the first (only one is drawn at a time). */
export function setLiveRegion(region: LiveRegion | undefined): void {
  live = region;
}

/** Ends `region`'s turn if it is still the live one. */
export function clearLiveRegion(region: LiveRegion): void {
  if (live === region) live = undefined;
}

export function writeStderr(text: string): void {
  live?.clear();
  writeTo(process.stderr, text);
  live?.redraw();
}

/**
 * A terminal that can show live progress: a TTY with a width (a 0-column pseudo-terminal would make a
 * spinner redraw without end). `TERM=dumb` terminals get plain lines too.
 */
export function stderrIsTerminal(): boolean {
  return process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0 && process.env.TERM !== 'dumb';
}
