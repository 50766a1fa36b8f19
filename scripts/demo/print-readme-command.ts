// `tsx scripts/demo/print-readme-command.ts <index>`: prints the README's first commands' line <index>
// (0 = the demo, 1 = the tests), as written, for .ci/run to execute verbatim in a fresh clone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeCommands } from './readme-commands';
import { REPO_ROOT } from './settings';

const commands = readmeCommands(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
const index = Number(process.argv[2] ?? '0');
const command = commands[index];
if (command === undefined) {
  process.stderr.write(`README.md: its first code block has ${commands.length} commands, none at index ${process.argv[2]}\n`);
  process.exit(2);
}
process.stdout.write(`${command}\n`);
