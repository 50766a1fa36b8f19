import ora, { type Ora } from 'ora';

/**
 * Step progress on stderr: an ora spinner with rows, rate and ETA on a TTY (never in raw mode: ora's
 * `discardStdin` would swallow Ctrl-C); otherwise a plain line at most every few seconds and one when
 * the step ends, so CI logs stay readable.
 */
export interface StepProgress {
  update(done: number, total?: number): void;
  finish(ok: boolean, text: string): void;
}

const PLAIN_EVERY_MS = 5_000;

function describe(label: string, done: number, total: number | undefined, startedAt: number): string {
  const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
  const rate = done / seconds;
  const eta = total !== undefined && rate > 0 && total > done ? `, ETA ${formatSeconds((total - done) / rate)}` : '';
  const of = total !== undefined ? `/${total}` : '';
  return `${label}: ${done}${of} rows, ${Math.round(rate)} rows/s${eta}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
}

export function createStepProgress(label: string, options: { tty: boolean; quiet?: boolean }): StepProgress {
  const startedAt = Date.now();
  if (options.quiet) return { update: () => undefined, finish: () => undefined };
  if (options.tty) {
    const spinner: Ora = ora({ text: label, stream: process.stderr, discardStdin: false }).start();
    return {
      update: (done, total) => void (spinner.text = describe(label, done, total, startedAt)),
      finish: (ok, text) => void (ok ? spinner.succeed(`${label}: ${text}`) : spinner.fail(`${label}: ${text}`)),
    };
  }
  let lastLine = startedAt;
  return {
    update(done, total) {
      if (Date.now() - lastLine < PLAIN_EVERY_MS) return;
      lastLine = Date.now();
      process.stderr.write(`${describe(label, done, total, startedAt)}\n`);
    },
    finish: (ok, text) => void process.stderr.write(`${label}: ${ok ? 'done' : 'FAILED'} — ${text}\n`),
  };
}
