/**
 * pgloader (Debian package) MySQL → PostgreSQL of the same legacy tables: pgloader's defaults for a
 * straight table copy (4 workers, 25k-row batches, zero dates to NULL), no indexes, like the raw COPY.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PgloaderRun {
  rows: number;
  errors: number;
  /** pgloader's own "Total import time", seconds. */
  reportedSeconds: number;
}

function loadFile(mysqlUrl: string, database: string, pgUrl: string, tables: readonly string[]): string {
  const from = new URL(mysqlUrl);
  from.pathname = `/${database}`;
  return `LOAD DATABASE
  FROM ${from.toString()}
  INTO ${pgUrl.replace(/^postgres:/, 'postgresql:')}
WITH include drop, create tables, create no indexes, no foreign keys, reset no sequences,
     workers = 4, concurrency = 1, batch rows = 25000, prefetch rows = 25000
SET MySQL PARAMETERS net_read_timeout = '3600', net_write_timeout = '3600'
CAST type datetime to timestamptz drop default drop not null using zero-dates-to-null
INCLUDING ONLY TABLE NAMES MATCHING ${tables.map((t) => `'${t}'`).join(', ')};
`;
}

/** Parses pgloader's summary line: `Total import time  ✓  522816  89.6 MB  25.236s`. */
export function parsePgloaderSummary(output: string): PgloaderRun {
  const total = /Total import time\s+(\S+)\s+(\d+)\s+.*?([\d.]+)s\s*$/m.exec(output);
  if (!total) throw new Error('pgloader: no "Total import time" line in its output');
  const errors = [...output.matchAll(/^\s*\S+\.(\S+)\s+(\d+)\s+\d+\s/gm)].reduce((n, m) => n + Number(m[2]), 0);
  return { rows: Number(total[2]), errors, reportedSeconds: Number(total[3]) };
}

export async function runPgloader(workDir: string, mysqlUrl: string, database: string, pgUrl: string, tables: readonly string[]): Promise<PgloaderRun> {
  const path = join(workDir, 's1.load');
  await writeFile(path, loadFile(mysqlUrl, database, pgUrl, tables), 'utf8');
  const child = spawn('pgloader', ['--no-ssl-cert-verification', path], { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`pgloader exited with ${code}: ${output.slice(-2000)}`);
  return parsePgloaderSummary(output);
}
