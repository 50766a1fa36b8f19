import ora, { type Ora } from 'ora';
import { clearLiveRegion, setLiveRegion, writeStderr } from '../terminal';
import type { TenantBoard } from './tenant-board';

/**
 * Step progress on stderr: on a terminal, the tenant's row of the board when several tenants run
 * (engine/tenant-board.ts), else an ora spinner with rows, rate and ETA (never in raw mode: ora's
 * `discardStdin` would swallow Ctrl-C); without a terminal, a plain line at most every few seconds and
 * one when the step ends, so CI logs stay readable. Logs go above whichever is live (terminal.ts).
 */
export interface StepProgress {
  update(done: number, total?: number): void;
  /** `'interrupted'`: stopped at a batch boundary on request, resumable; said as such, never as a failure. */
  finish(ok: boolean | 'interrupted', text: string): void;
}

export interface ProgressOptions {
  tty: boolean;
  quiet?: boolean;
  /** `--all-tenants` on a terminal: the step reports into its tenant's row. */
  board?: TenantBoard;
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

/** `label` names phase, tenant and step; on the board the tenant is the row's, so `rowLabel` omits it. */
export function createStepProgress(label: string, options: ProgressOptions, row?: { tenant: string; rowLabel: string }): StepProgress {
  const startedAt = Date.now();
  if (options.quiet) return { update: () => undefined, finish: () => undefined };
  const board = options.board;
  if (board && row) {
    board.set(row.tenant, `${row.rowLabel}: starting`);
    return {
      update: (done, total) => board.set(row.tenant, describe(row.rowLabel, done, total, startedAt)),
      finish: (ok, text) => board.set(row.tenant, `${row.rowLabel}: ${text}`, ok === true ? 'running' : 'failed'),
    };
  }
  if (options.tty) {
    const spinner: Ora = ora({ text: label, stream: process.stderr, discardStdin: false }).start();
    const region = { clear: () => spinner.clear(), redraw: () => void spinner.render() };
    setLiveRegion(region);
    const end = (ok: boolean | 'interrupted', text: string) => {
      clearLiveRegion(region);
      if (ok === 'interrupted') spinner.warn(`${label}: INTERRUPTED — ${text}`);
      else if (ok) spinner.succeed(`${label}: ${text}`);
      else spinner.fail(`${label}: ${text}`);
    };
    return { update: (done, total) => void (spinner.text = describe(label, done, total, startedAt)), finish: end };
  }
  let lastLine = startedAt;
  return {
    update(done, total) {
      if (Date.now() - lastLine < PLAIN_EVERY_MS) return;
      lastLine = Date.now();
      writeStderr(`${describe(label, done, total, startedAt)}\n`);
    },
    // CI log scanners read FAILED as a failure: an interrupt (exit 1, resumable) is said as what it is.
    finish: (ok, text) => writeStderr(`${label}: ${ok === 'interrupted' ? 'INTERRUPTED' : ok ? 'done' : 'FAILED'} — ${text}\n`),
  };
}
