import { writeStderr } from '../terminal';
import { StepFailed } from './errors';

/**
 * How a run is asked to stop: SIGINT (Ctrl-C at a terminal), SIGTERM (a supervisor) or SIGHUP (the
 * terminal went away). The first one asks the current step to finish its batch, commit and return; a
 * second one falls back to the default (immediate) behaviour.
 *
 * A package-manager wrapper (`pnpm migrator …`, `npm run migrator`) does not pass a supervisor's SIGTERM
 * on to the process it started: it exits and this process is re-parented while it still holds the lock.
 * So when started by such a wrapper, the wrapper's death counts as a SIGTERM too (the parent pid is
 * polled; Node has no parent-death signal).
 */
export interface StopSignals {
  signal: AbortSignal;
  dispose(): void;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const PARENT_POLL_MS = 500;

/** True when a package manager's script runner started this process (npm, pnpm and yarn all set this). */
function startedByPackageManager(env: NodeJS.ProcessEnv): boolean {
  return typeof env.npm_lifecycle_event === 'string' && env.npm_lifecycle_event !== '';
}

export function stopOnSignals(
  env: NodeJS.ProcessEnv = process.env,
  /** What the first signal makes this command do, as the notice says it: its own safe point. */
  notice = 'finishing the current batch, then stopping (resumable)',
): StopSignals {
  const controller = new AbortController();
  let parentWatch: NodeJS.Timeout | undefined;
  const dispose = () => {
    for (const name of SIGNALS) process.off(name, onSignal);
    if (parentWatch) clearInterval(parentWatch);
  };
  // The listener stays until the run ends: signal-exit (under ora's cursor handling) re-raises a signal
  // that no other listener handles, which would kill the run mid-batch.
  function onSignal(name: NodeJS.Signals | 'parent exited') {
    if (controller.signal.aborted) {
      dispose();
      process.kill(process.pid, name === 'parent exited' ? 'SIGTERM' : name);
      return;
    }
    writeStderr(`\n${name}: ${notice}. Send again to stop at once.\n`);
    controller.abort(new Error(name));
    if (parentWatch) clearInterval(parentWatch);
  }
  for (const name of SIGNALS) process.on(name, onSignal);
  if (startedByPackageManager(env)) {
    // The package.json script `exec`s node, so the wrapper itself is the parent.
    const parent = process.ppid;
    parentWatch = setInterval(() => process.ppid !== parent && onSignal('parent exited'), PARENT_POLL_MS);
    parentWatch.unref();
  }
  return { signal: controller.signal, dispose };
}

/** A command stopped by a signal at its safe point: exit 1 (docs: interrupted), with what was and was not done. */
export class Interrupted extends StepFailed {
  override readonly name = 'Interrupted';
}

/**
 * For a command whose work before its safe point only reads (validate, an evidence pack before its folder is
 * renamed into place): on a stop request it stops waiting for `work` and throws {@link Interrupted} with
 * `message` at once, so nothing after (a verdict recorded, reports written) happens. `work` is left to fail or
 * finish on its own as its connections close; its outcome is ignored.
 */
export async function untilStopped<T>(work: Promise<T>, signal: AbortSignal, message: () => string): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) throw new Interrupted(message());
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Interrupted(message()));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stopped]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/**
 * Awaits `closing` (a command's connections), but after a stop request at most `ms`: a query the abandoned work
 * still has in flight must not hold the exit up. The process ends soon after either way, and the server drops
 * what a connection held with it.
 */
export async function closeAfterStop(closing: Promise<unknown>, signal: AbortSignal, ms = 3000): Promise<void> {
  if (!signal.aborted) return void (await closing);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closing.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
