/**
 * stdout carries results only: with `--json`, exactly one JSON object per invocation (docs/design.md §8).
 * This module remembers whether it was printed, so `bin.ts` can print an error object otherwise.
 */
let printed = false;

export function printJson(value: unknown): void {
  printed = true;
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function jsonPrinted(): boolean {
  return printed;
}

/** Human output on stdout (tables, summaries) when `--json` is not given. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A note for the person at the terminal (a plan, a diff) on stderr, as text: stdout stays the result. */
export function printNote(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
