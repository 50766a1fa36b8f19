import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

/**
 * The success line a runbook promises — "the summary (…) starts `<line>`" — read from the runbook itself, so a
 * test compares what operators are told with what the CLI prints and the two cannot drift apart unnoticed.
 */
export function runbookSuccessLine(file: string): string {
  const text = readFileSync(`${ROOT}${file}`, 'utf8').replace(/\s+/g, ' ');
  const claims = [...text.matchAll(/the summary (?:\([^)]*\) )?starts `([^`]+)`/g)].map((m) => m[1]!);
  if (claims.length !== 1) throw new Error(`${file}: expected one "the summary … starts \`…\`" line, found ${claims.length}`);
  return claims[0]!;
}

/** `line` as a pattern for a printed line: `…` (the runbook's stand-in for the run's as-of) is any instant. */
export function successLinePattern(line: string): RegExp {
  const parts = line.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?Z')}`, 'm');
}
