import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { makeCli } from './cli';
import { checkPhaseFlags } from './commands/phase-flags';
import { parseRunOptions, type RawRunOptions } from './commands/run-options';
import { loadPhase } from './phases';

/** Every command of the tree with its path of names below `migrator` (the program itself: []). */
function walk(command: Command, path: string[] = []): Array<{ path: string[]; command: Command }> {
  return [{ path, command }, ...command.commands.flatMap((sub) => walk(sub, [...path, sub.name()]))];
}

/** What `--help` prints, text added with addHelpText included (helpInformation() leaves that out). */
function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

/** Splits a command line as a POSIX shell would, for what examples use: quotes, `#` comments, `>` redirects. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /\s*(?:"([^"]*)"|'([^']*)'|(#.*|>.*)|(\S+))/gy;
  for (let m = pattern.exec(line); m && m[0] !== ''; m = pattern.exec(line)) {
    if (m[3] !== undefined) break;
    words.push(m[1] ?? m[2] ?? m[4]!);
  }
  return words;
}

/** The `$ pnpm migrator …` lines of a help text's Examples section, continuation lines (`\`) joined. */
function examplesOf(help: string): string[][] {
  const section = /\nExamples:\n((?:[ \t]+\S.*\n?)+)/.exec(help)?.[1] ?? '';
  return section
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('$ '))
    .map((line) => shellWords(line.slice(2)));
}

/** Replaces every action with one that records which command ran (and, for `phase`, checks its flags as the real one does first). */
function stubActions(program: Command): () => string[] | undefined {
  let ran: string[] | undefined;
  for (const { path, command } of walk(program)) {
    command.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    command.action(async (...args: unknown[]) => {
      ran = path;
      if (path.join(' ') !== 'phase') return;
      const [phaseId, action, raw] = args as [string, string | undefined, RawRunOptions];
      const phase = await loadPhase(phaseId);
      checkPhaseFlags(phase, action, raw, action === undefined ? parseRunOptions(raw, new Date()) : undefined);
    });
  }
  return () => ran;
}

const tree = walk(await makeCli(['node', 'migrator']));
const examples = [...new Map(tree.flatMap(({ command }) => examplesOf(helpOf(command))).map((words) => [words.join(' '), words])).values()];

describe('migrator --help', () => {
  it('covers every command', () => {
    expect(tree.map(({ path }) => path.join(' '))).toEqual([
      '',
      'preflight',
      'phase',
      'status',
      'rejects',
      'validate',
      'rollback',
      'tenant',
      'tenant onboard',
      'tenant forget',
      'ledger',
      'ledger verify',
      'ledger show',
      'evidence',
      'evidence verify',
      'enqueue',
      'worker',
      'plan',
      'plan status',
    ]);
  });

  it.each(tree.map(({ path, command }) => [`migrator ${path.join(' ')}`.trim(), path, command] as const))(
    '%s --help shows examples of itself',
    (_name, path, command) => {
      const own = examplesOf(helpOf(command)).filter((words) => words.slice(0, path.length + 2).join(' ') === ['pnpm', 'migrator', ...path].join(' '));
      expect(own.length).toBeGreaterThan(0);
    },
  );

  it.each(examples.filter((words) => !words.some((w) => /^<.*>$/.test(w) || w === '--help')).map((words) => [words.join(' '), words] as const))(
    'the example `%s` is a valid command line',
    async (_line, words) => {
      const argv = ['node', 'migrator', ...words.slice(2)];
      const program = await makeCli(argv);
      const ran = stubActions(program);
      await program.parseAsync(argv);
      // The command the example names ran: the words after `pnpm migrator` start with its path.
      expect(ran()).toEqual(expect.any(Array));
      expect(words.slice(2, 2 + ran()!.length)).toEqual(ran());
    },
  );
});
