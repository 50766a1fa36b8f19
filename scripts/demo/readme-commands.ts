/**
 * The README's first commands: the lines of its first fenced code block, as written (comments and
 * blank lines aside). CI runs them verbatim in a fresh clone, so the README cannot drift from what works.
 */
export function readmeCommands(markdown: string): string[] {
  const block = /^```[a-z]*\n([\s\S]*?)^```/m.exec(markdown);
  if (!block) throw new Error('README.md: expected a fenced code block with the first commands');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
