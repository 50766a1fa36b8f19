import { relative } from 'node:path';
import { SECRET_FLAG } from '../ledger/invocation';

/** Characters a POSIX shell takes as they are; anything else is single-quoted. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(arg: string): string {
  return PLAIN.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * How this process was started, as the operator would type it again: through the package script
 * (`pnpm migrator`, `npm run migrator --`), else node with its own flags and the entry file. The script
 * case is told by the variables the package manager sets (it `exec`s node, so they are ours too).
 */
export function invokedAs(env: NodeJS.ProcessEnv, argv: readonly string[], execArgv: readonly string[], cwd: string): string {
  if (env.npm_lifecycle_event === 'migrator') {
    const agent = env.npm_config_user_agent ?? '';
    if (agent.startsWith('npm/')) return 'npm run migrator --';
    if (agent.startsWith('yarn/')) return 'yarn migrator';
    return 'pnpm migrator';
  }
  const entry = argv[1] ? relative(cwd, argv[1]) || argv[1] : 'migrator';
  return ['node', ...execArgv, entry].map(shellQuote).join(' ');
}

/**
 * The command that resumes this run: the same arguments, after the same launcher. The value of a flag
 * whose name looks secret (none of the phase flags today) is shown as `<secret>`: the message may end up
 * in a supervisor's journal.
 */
export function resumeCommand(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv,
  execArgv: readonly string[] = process.execArgv,
  cwd = process.cwd(),
): string {
  const args = argv.slice(2);
  const shown = args.map((arg, i) => {
    const inline = /^--([^=]+)=/.exec(arg);
    if (inline && SECRET_FLAG.test(inline[1]!)) return `--${inline[1]}=<secret>`;
    const previous = args[i - 1];
    if (previous && /^--[^=]+$/.test(previous) && SECRET_FLAG.test(previous) && !arg.startsWith('-')) return '<secret>';
    return shellQuote(arg);
  });
  return [invokedAs(env, argv, execArgv, cwd), ...shown].join(' ');
}
