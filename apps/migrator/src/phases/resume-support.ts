import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { startMigrator, type CliResult } from '../testing/run-cli';

/**
 * Test support for the kill-and-resume tests of the phases (docs/design.md §6, §9 "a run killed at random
 * instants and resumed ends identical to a clean run"): start the CLI, signal it once a condition on
 * the target says the step is where the test wants it, and digest the tables two runs must agree on.
 */
export type KillSignal = 'SIGKILL' | 'SIGTERM';

export interface KillPoint {
  /** Names the point in the test's outcome list (`2.4 mid-page`). */
  label: string;
  signal: KillSignal;
  /** True once the run is where the kill must land; polled while the CLI runs. */
  reached(): Promise<boolean>;
}

export interface KillOutcome extends CliResult {
  /** The kill landed while the run was still going (SIGKILL: died by it; SIGTERM: stopped resumable). */
  hit: boolean;
}

const POLL_MS = 10;

/** Runs `migrator <args>` and signals it at `point`; resolves when the process has ended. */
export async function runAndKill(args: readonly string[], env: Record<string, string>, point: KillPoint): Promise<KillOutcome> {
  const run = startMigrator(args, env);
  let finished = false;
  void run.done.then(() => (finished = true));
  while (!finished) {
    if (await point.reached()) {
      run.child.kill(point.signal);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const result = await run.done;
  const hit = point.signal === 'SIGKILL' ? result.signal === 'SIGKILL' : result.code === 1 && statusOf(result.stdout) === 'interrupted';
  return { ...result, hit };
}

function statusOf(stdout: string): string | undefined {
  try {
    return (JSON.parse(stdout) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

/** The checkpoint of one step, or undefined before the step first ran. */
export async function checkpointRow(
  client: pg.Client,
  tenant: string,
  phase: string,
  step: string,
): Promise<{ status: string; read: number; cursor: Record<string, unknown> | null; facts: Record<string, unknown> } | undefined> {
  const { rows } = await client.query(
    `select status, read, cursor, facts from vc_migration.step_checkpoints where tenant_id = $1 and phase = $2 and step_id = $3 and key_range = ''`,
    [tenant, phase, step],
  );
  return rows[0];
}

/**
 * What two correct runs of the same commands agree on, one row set per table, as `rows` and an md5 of
 * the rows' canonical JSON. Left out: surrogate keys and bookkeeping times (`id`, `created_at`,
 * `backfilled_at`), the FHIR server's own Encounter ids (each target has its own FHIR server; a session's
 * Encounter is compared as "backfilled by phase p"), when 2.2 tested the Jitsi connection, whether the conditional create made or found an
 * Encounter (a resumed run finds those its killed predecessor made), and checkpoint facts and timings
 * (totals such as created/unchanged say what each run did, not what the data is).
 */
const DIGESTS: Record<string, string> = {
  virtual_sessions: `select to_jsonb(s) - 'encounter_ref' || jsonb_build_object('encounter', case when b.session_id is null then s.encounter_ref else 'backfilled:' || b.phase end) as r
    from virtual_sessions s left join vc_migration.encounter_backfills b on b.session_id = s.id and b.encounter_ref = s.encounter_ref`,
  session_participants: `select to_jsonb(p) as r from session_participants p`,
  billing_events: `select to_jsonb(b) - 'id' - 'created_at' as r from billing_events b`,
  encounter_backfills: `select to_jsonb(e) - 'encounter_ref' - 'created' - 'backfilled_at' as r from vc_migration.encounter_backfills e`,
  rejects: `select to_jsonb(j) - 'id' - 'created_at' as r from vc_migration.rejects j`,
  id_map: `select to_jsonb(m) - 'created_at' as r from vc_migration.id_map m`,
  step_checkpoints: `select jsonb_build_object('tenant', tenant_id, 'phase', phase, 'step', step_id, 'status', status, 'cursor', cursor - 'testedAt', 'read', read,
    'written', written, 'rejected', rejected, 'deferred', deferred, 'warnings', warnings) as r from vc_migration.step_checkpoints`,
};

export type TableDigests = Record<string, { rows: number; md5: string }>;

export async function tableDigests(client: pg.Client): Promise<TableDigests> {
  const out: TableDigests = {};
  for (const [table, rows] of Object.entries(DIGESTS)) {
    const {
      rows: [digest],
    } = await client.query<{ rows: number; md5: string }>(
      `select count(*)::int as rows, md5(coalesce(string_agg(r::text, E'\\n' order by r::text), '')) as md5 from (${rows}) t`,
    );
    out[table] = digest!;
  }
  return out;
}

/** An HTTP forwarder that holds each request `delayMs` first: a slow outside system, so a kill can land mid-page. */
export interface DelayingProxy {
  /** The upstream URL with the proxy's origin. */
  url: string;
  delayMs: number;
  close(): Promise<void>;
}

export async function startDelayingProxy(upstream: string, delayMs: number): Promise<DelayingProxy> {
  const target = new URL(upstream);
  const proxy: DelayingProxy = { url: '', delayMs, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    setTimeout(() => {
      const forward = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      // A killed client leaves its requests half-sent: drop them as the real network would.
      forward.on('error', () => res.destroy());
      req.on('error', () => forward.destroy());
      req.pipe(forward);
    }, proxy.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  proxy.url = `http://127.0.0.1:${port}${target.pathname.replace(/\/$/, '')}`;
  proxy.close = () =>
    new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
  return proxy;
}
