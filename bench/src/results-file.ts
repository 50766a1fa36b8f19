/** bench/RESULTS.md holds one section per benchmark, each between its own markers (`<!-- s1:start -->` …). */
import { readFile, writeFile } from 'node:fs/promises';

export const markersOf = (name: string) => ({ start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` });

/** Replaces the named section of the results file's text (or appends it), keeping every other section as it is. */
export function withSection(existing: string, name: string, section: string): string {
  const { start, end } = markersOf(name);
  const from = existing.indexOf(start);
  const to = existing.indexOf(end);
  if (from >= 0 && to > from) return existing.slice(0, from) + section + existing.slice(to + end.length);
  const base = existing.trim() === '' ? '# Benchmark results\n' : existing.replace(/\s*$/, '\n');
  return `${base}\n${section}\n`;
}

/** Rewrites the named section of the results file at `path`. */
export async function writeSection(path: string, name: string, section: string): Promise<void> {
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  await writeFile(path, withSection(existing, name, section), 'utf8');
}
