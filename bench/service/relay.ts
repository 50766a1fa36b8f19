/**
 * `pnpm --filter @vc/bench exec tsx service/relay.ts`: CPU of the outbox relay per event, the part of a
 * join's cost that service/run.ts leaves out (it runs without a relay). Fills the outbox with participant
 * CloudEvents as joins write them, then lets the service's relay drain it into JetStream (throwaway
 * PostgreSQL 15 and nats-server -js on loopback), and reports the CPU of this process, of PostgreSQL and
 * of nats-server per event (from /proc). Prints one line; writes nothing.
 *
 * Env: BENCH_EVENTS (20000), BENCH_BATCH (the relay's batch size, default its own).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectEventStream } from '@vc/integrations/nats';
import { createDatabase, ensurePostgresDatabase, migrate } from '@vc/schema';
import { createLogger, OutboxRelay } from '@vc/service';
import pg from 'pg';
import { postmasterPid, treeCpuSeconds } from './cpu';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const BATCH = process.env.BENCH_BATCH ? Number(process.env.BENCH_BATCH) : undefined;

interface Services {
  makeWorkDir(prefix: string): string;
  startPostgres(dir: string): Promise<{ url: string; stop(): void }>;
  startNats(dir: string): Promise<{ url: string; port: number; stop(): void }>;
  removeWorkDir(dir: string): void;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const services = (await import(join(root, 'scripts', 'lib', 'services.mjs'))) as Services;
const dir = services.makeWorkDir('vc-bench-relay-');
const postgres = await services.startPostgres(dir);
const nats = await services.startNats(dir);
try {
  const dbUrl = new URL(postgres.url);
  dbUrl.pathname = `/vc_bench_relay_${randomBytes(4).toString('hex')}`;
  await ensurePostgresDatabase(dbUrl.toString());
  const handle = await createDatabase(dbUrl.toString(), { max: 10 });
  await migrate(handle);
  const stream = await connectEventStream({ url: nats.url, duplicateWindowMs: 10 * 60_000 });
  await stream.ensureStream();

  // Rows as a join writes them: one participant.joined CloudEvent each, all due now.
  const client = new pg.Client({ connectionString: dbUrl.toString() });
  await client.connect();
  const now = new Date();
  for (let done = 0; done < EVENTS; done += 1_000) {
    const rows = Array.from({ length: Math.min(1_000, EVENTS - done) }, () => {
      const id = randomUUID();
      const sessionId = randomUUID();
      const data = { sessionId, role: 'patient', at: now.toISOString() };
      // The CloudEvent as the service builds it (@vc/domain/events), inlined: the size of the payload is what counts.
      const payload = {
        specversion: '1.0',
        id,
        source: '/virtual-care-service',
        type: 'virtual_care.participant.joined',
        subject: sessionId,
        time: now.toISOString(),
        tenantid: 'bench',
        datacontenttype: 'application/json',
        data,
      };
      return { id, sessionId, payload };
    });
    await client.query(
      `insert into outbox (id, tenant_id, kind, subject, aggregate_id, payload, created_at, next_attempt_at)
       select r.id, 'bench', 'event'::outbox_kind, 'virtual_care.participant.joined', r.aggregate_id, r.payload, $2, $2
       from jsonb_to_recordset($1::jsonb) as r(id uuid, aggregate_id uuid, payload jsonb)`,
      [JSON.stringify(rows.map((r) => ({ id: r.id, aggregate_id: r.sessionId, payload: r.payload }))), now],
    );
  }
  await client.query('analyze outbox');
  await client.end();

  const relay = new OutboxRelay({ db: handle.db, eventStream: stream, fhir: undefined, logger: createLogger('warn'), ...(BATCH ? { batchSize: BATCH } : {}) });
  const postgresPid = postmasterPid(new URL(postgres.url).port);
  const natsPid = pidListeningOn(nats.port);
  const cpuBefore = { self: process.cpuUsage(), pg: treeCpuSeconds(postgresPid!) ?? 0, nats: treeCpuSeconds(natsPid) ?? 0 };
  const started = process.hrtime.bigint();
  let published = 0;
  for (;;) {
    const pass = await relay.runOnce();
    if (pass.failed > 0) throw new Error(`${pass.failed} events failed to publish`);
    if (pass.published === 0) break;
    published += pass.published;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const self = process.cpuUsage(cpuBefore.self);
  const perEvent = (cpuSeconds: number) => ((cpuSeconds * 1000) / published).toFixed(3);
  console.log(
    `outbox relay: ${published} events in ${seconds.toFixed(1)} s (batch ${BATCH ?? 'default'}), CPU ms/event: relay ${perEvent((self.user + self.system) / 1e6)}, ` +
      `PostgreSQL ${perEvent((treeCpuSeconds(postgresPid!) ?? 0) - cpuBefore.pg)}, nats-server ${perEvent((treeCpuSeconds(natsPid) ?? 0) - cpuBefore.nats)}; ` +
      `1-min load ${loadavg()[0]!.toFixed(1)}`,
  );
  await stream.close();
  await handle.close();
} finally {
  nats.stop();
  postgres.stop();
  services.removeWorkDir(dir);
}

/** The nats-server started above, found by the port on its command line. */
function pidListeningOn(port: number): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('nats-server') && args.includes(String(port))) return Number(name);
    } catch {
      // The process ended between readdir and read.
    }
  }
  throw new Error(`no nats-server on port ${port}`);
}
