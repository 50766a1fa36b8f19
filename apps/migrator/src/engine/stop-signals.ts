import { writeStderr } from '../terminal';

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

export function stopOnSignals(env: NodeJS.ProcessEnv = process.env): StopSignals {
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
    writeStderr(`\n${name}: finishing the current batch, then stopping (resumable). Send again to stop at once.\n`);
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
