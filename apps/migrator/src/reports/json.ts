import { assertNoPhi } from './phi-guard';

/** Pretty JSON of any report, refused when a string looks like PHI or a secret. */
export function renderJson(report: unknown): string {
  assertNoPhi(report);
  return `${JSON.stringify(report, null, 2)}\n`;
}
