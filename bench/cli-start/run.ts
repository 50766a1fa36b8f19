/**
 * How long a migrator CLI start takes from the build (`pnpm build`: `node apps/migrator/dist/bin.js`)
 * against the development path (`node apps/migrator/bin/migrator.mjs`: tsx compiles the sources on the
 * fly). Each start is a fresh process running `--version` or `--help`, which open nothing, so the time is
 * start-up alone: loading Node, the modules and (for tsx) transforming them. The two are interleaved so a
 * change in the machine's load moves both alike. Builds the migrator first. Writes the "cli-start"
 * section of bench/RESULTS.md. Not part of `pnpm test`.
 *
 *   pnpm --filter @vc/bench exec tsx cli-start/run.ts        # BENCH_RUNS=15 by default
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const variants = [
  { name: 'build (node apps/migrator/dist/bin.js)', entry: join(root, 'apps/migrator/dist/bin.js') },
  { name: 'tsx (node apps/migrator/bin/migrator.mjs)', entry: join(root, 'apps/migrator/bin/migrator.mjs') },
] as const;
const commands = ['--version', '--help'] as const;

/** Wall-clock milliseconds of one start, failing the bench if the CLI does not exit 0. */
function timeStart(entry: string, arg: string): number {
  const started = process.hrtime.bigint();
  // Only PATH and HOME: no VC_* from the caller's shell, so every start reads the same (default) config.
  const result = spawnSync(process.execPath, [entry, arg], { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${entry} ${arg} exited ${result.status}: ${result.stderr.toString().slice(0, 500)}`);
  return ms;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

function main(): void {
  execFileSync('pnpm', ['--filter', '@vc/migrator', 'build'], { cwd: root, stdio: 'inherit' });
  const loadBefore = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const samples = new Map<string, number[]>();
  for (const v of variants) for (const c of commands) timeStart(v.entry, c); // warm the OS file cache for both
  for (let i = 0; i < RUNS; i++) {
    for (const c of commands) {
      for (const v of variants) {
        const key = `${v.name}\u0000${c}`;
        samples.set(key, [...(samples.get(key) ?? []), timeStart(v.entry, c)]);
      }
    }
  }
  const lines = ['| start | command | median ms | p90 ms | min ms | runs |', '|---|---|---:|---:|---:|---:|'];
  const medians = new Map<string, number>();
  const minima = new Map<string, number>();
  for (const c of commands) {
    for (const v of variants) {
      const sorted = [...samples.get(`${v.name}\u0000${c}`)!].sort((a, b) => a - b);
      medians.set(`${v.name}\u0000${c}`, quantile(sorted, 0.5));
      minima.set(`${v.name}\u0000${c}`, sorted[0]!);
      lines.push(
        `| ${v.name} | \`migrator ${c}\` | ${quantile(sorted, 0.5).toFixed(0)} | ${quantile(sorted, 0.9).toFixed(0)} | ${sorted[0]!.toFixed(0)} | ${sorted.length} |`,
      );
    }
  }
  const ratio = (of: Map<string, number>, c: string) => (of.get(`${variants[1].name}\u0000${c}`)! / of.get(`${variants[0].name}\u0000${c}`)!).toFixed(1);
  const body = [
    `Command: \`pnpm --filter @vc/bench exec tsx cli-start/run.ts\` (env: BENCH_RUNS=${RUNS}).`,
    `Run: ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average before the run ${loadBefore}; each start a fresh process with an empty VC_* environment, the two starts interleaved.`,
    '',
    lines.join('\n'),
    '',
    `The build starts ${ratio(medians, '--version')}× faster for \`--version\` and ${ratio(medians, '--help')}× for \`--help\` (median against median;`,
    `${ratio(minima, '--version')}× and ${ratio(minima, '--help')}× fastest against fastest, the least disturbed by other work on the machine). tsx transforms`,
    'every TypeScript module the CLI loads at each start; the build loads the JavaScript esbuild bundled once, its npm packages in it (but PGlite, pino).',
    'Both load the same modules (the CLI, and for `--help` each command module); neither opens a database. On a shared machine the',
    'load average moves every row: compare the two starts of one run, not runs.',
  ].join('\n');
  void writeSection(body).then(() => process.stdout.write(`${body}\n`));
}

/** Replaces (or appends) the cli-start section of RESULTS.md, leaving every other section as it is. */
async function writeSection(body: string): Promise<void> {
  const file = join(root, 'bench', 'RESULTS.md');
  const current = await readFile(file, 'utf8').catch(() => '# Benchmark results\n');
  const section = `<!-- cli-start:start -->\n## cli-start: migrator start from the build vs tsx\n\n${body.trim()}\n<!-- cli-start:end -->`;
  const marked = /<!-- cli-start:start -->[\s\S]*?<!-- cli-start:end -->/;
  const next = marked.test(current) ? current.replace(marked, section) : `${current.trimEnd()}\n\n${section}\n`;
  await writeFile(file, `${next.trimEnd()}\n`);
}

main();
