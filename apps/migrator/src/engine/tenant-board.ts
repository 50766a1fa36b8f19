import { clearLiveRegion, setLiveRegion, type LiveRegion } from '../terminal';

/**
 * `--all-tenants` on a terminal: one live row per tenant (its step, rows, rate and ETA, or how it
 * ended), redrawn in place at the bottom of stderr like listr2's default renderer. Drawn with two ANSI
 * sequences (cursor up N lines, erase below) rather than a task-list library, because the engine reports
 * progress imperatively from inside steps, not as a tree of tasks. stdin is never touched (no raw mode),
 * so Ctrl-C stays a SIGINT.
 */
export interface TenantBoard {
  /** Sets a tenant's row text; `state` picks its mark. */
  set(tenant: string, text: string, state?: RowState): void;
  /** Leaves the rows as they are last drawn (they stay on screen) and stops redrawing. */
  stop(): void;
}

export type RowState = 'waiting' | 'running' | 'done' | 'failed';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARKS: Record<Exclude<RowState, 'running'>, string> = { waiting: '·', done: '✔', failed: '✖' };
const REDRAW_MS = 100;

export function createTenantBoard(tenants: readonly string[], stream: NodeJS.WriteStream = process.stderr): TenantBoard {
  const width = Math.max(...tenants.map((t) => t.length));
  const rows = new Map(tenants.map((t) => [t, { text: 'waiting', state: 'waiting' as RowState }]));
  let frame = 0;
  let drawn = 0;
  const line = (tenant: string) => {
    const row = rows.get(tenant)!;
    const mark = row.state === 'running' ? FRAMES[frame % FRAMES.length]! : MARKS[row.state];
    // Cut to the terminal's width: a wrapped row would break the count of lines to move up.
    return `${mark} ${tenant.padEnd(width)}  ${row.text}`.slice(0, Math.max((stream.columns ?? 80) - 1, 20));
  };
  const region: LiveRegion = {
    clear() {
      if (drawn > 0) stream.write(`\x1b[${drawn}F\x1b[J`);
      drawn = 0;
    },
    redraw() {
      stream.write(`${tenants.map(line).join('\n')}\n`);
      drawn = tenants.length;
    },
  };
  setLiveRegion(region);
  region.redraw();
  const timer = setInterval(() => {
    frame += 1;
    region.clear();
    region.redraw();
  }, REDRAW_MS);
  timer.unref();
  return {
    set(tenant, text, state = 'running') {
      const row = rows.get(tenant);
      if (!row) return;
      row.text = text;
      row.state = state;
    },
    stop() {
      clearInterval(timer);
      region.clear();
      region.redraw();
      clearLiveRegion(region);
    },
  };
}
