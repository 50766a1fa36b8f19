/**
 * `pnpm --filter @vc/bench exec tsx service/consent-client.ts`: CPU of the access-policy client per consent
 * decision, i.e. what a decision-cache miss costs the service on a join. The stand-in runs in a child process
 * (as the real access-policy is remote); this process only asks, at a fixed concurrency, with the cache off,
 * and reports its own CPU (process.cpuUsage) over the decisions. CPU per decision, unlike decisions per
 * second, barely moves with other work on a shared machine. Prints one line; writes nothing.
 *
 * Env: BENCH_DECISIONS (20000), BENCH_CONCURRENCY (16), BENCH_PATIENTS (200).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createAccessPolicyClient } from '@vc/integrations/access-policy';

const here = dirname(fileURLToPath(import.meta.url));
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PATIENTS = Number(process.env.BENCH_PATIENTS ?? 200);

const child = spawn(join(here, '..', '..', 'node_modules', '.bin', 'tsx'), [join(here, 'server.ts')], {
  env: { ...process.env, BENCH_ROLE: 'access-policy' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
const { url } = JSON.parse(first) as { url: string };
const client = createAccessPolicyClient({ baseUrl: url, cacheTtlMs: 0 });
for (let i = 0; i < PATIENTS; i += 1) {
  await client.upsertConsent('bench', {
    identifier: { system: 'urn:bench', value: randomUUID() },
    patientRef: `Patient/bench-${i}`,
    status: 'active',
    periodStart: '2020-01-01T00:00:00Z',
  });
}

async function decide(count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const decision = await client.decideTelehealth('bench', `Patient/bench-${next++ % PATIENTS}`);
      if (!decision.permitted) throw new Error('expected a permit');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

await decide(Math.min(2_000, DECISIONS)); // warm-up: JIT, connections
const cpu = process.cpuUsage();
const started = process.hrtime.bigint();
await decide(DECISIONS);
const used = process.cpuUsage(cpu);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const perDecisionMs = (used.user + used.system) / 1000 / DECISIONS;
console.log(
  `consent decisions: ${DECISIONS} at concurrency ${CONCURRENCY}, client CPU ${perDecisionMs.toFixed(3)} ms/decision ` +
    `(user ${(used.user / 1000 / DECISIONS).toFixed(3)}, system ${(used.system / 1000 / DECISIONS).toFixed(3)}), ` +
    `${Math.round(DECISIONS / seconds)} decisions/s, 1-min load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
);
child.kill('SIGTERM');
