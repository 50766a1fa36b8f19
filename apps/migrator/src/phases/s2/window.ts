/**
 * The parallel-run window (`--window`, default 14d: the plan runs legacy and new side by side for two
 * weeks). It ends at the run's as-of instant.
 */
export const DEFAULT_WINDOW = '14d';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * The longest window: ten years of days. A parallel run lasts weeks; a longer window is a typo, and one
 * past what a date can hold would only fail inside 2.3 (`Invalid time value`) instead of as a usage error.
 */
export const MAX_WINDOW_DAYS = 3650;
const MAX_WINDOW_MS = MAX_WINDOW_DAYS * UNIT_MS.d;

/** Parses `90m`, `36h`, `14d`, `2w` into milliseconds; throws naming the expected form or the bound. */
export function parseWindow(text: string): number {
  const m = /^\s*(\d+)\s*([mhdw])\s*$/i.exec(text);
  if (!m || Number(m[1]) === 0) throw new Error(`--window expects a positive duration like 90m, 36h, 14d or 2w, got "${text}"`);
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase() as keyof typeof UNIT_MS];
  if (!(ms <= MAX_WINDOW_MS)) throw new Error(`--window must be at most ${MAX_WINDOW_DAYS}d (ten years), got "${text}"`);
  return ms;
}

/** The half-open window [to − window, to). */
export function windowEnding(to: Date, window: string): { from: Date; to: Date } {
  return { from: new Date(to.getTime() - parseWindow(window)), to };
}

/** Whether `coalesce(scheduledStart, createdAt)` falls in the window, as both sides are selected. */
export function inWindow(at: Date | null, window: { from: Date; to: Date }): boolean {
  return at !== null && at.getTime() >= window.from.getTime() && at.getTime() < window.to.getTime();
}
