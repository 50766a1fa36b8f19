import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The two JUnit schemas reports must pass: Ant's (strict) and Jenkins xUnit's (lenient). See the .xsd files beside this. */
export const JUNIT_SCHEMAS = {
  ant: fileURLToPath(new URL('./ant-junit.xsd', import.meta.url)),
  jenkins: fileURLToPath(new URL('./jenkins-junit.xsd', import.meta.url)),
} as const;

/**
 * Validates `xml` with `xmllint --schema` (libxml2-utils, installed by `pnpm test`'s bootstrap).
 * Resolves with xmllint's exit code and its messages.
 */
export async function xmllint(xml: string, schema: keyof typeof JUNIT_SCHEMAS): Promise<{ code: number; output: string }> {
  const child = spawn('xmllint', ['--noout', '--schema', JUNIT_SCHEMAS[schema], '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stdin.end(xml);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  return { code, output };
}
