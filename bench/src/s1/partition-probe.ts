/**
 * `pnpm --filter @vc/bench exec tsx src/s1/partition-probe.ts` — issue 16's feasibility probe for per-tenant LIST
 * partitions of `virtual_sessions` and `session_participants`. A measurement, not the S1 bench and not part of
 * `pnpm test`; the migrator does not use partitions.
 *
 * On its own PostgreSQL 15 (started in a temp dir, like the S1 bench), for each N of --sessions it loads N sessions of
 * one tenant and --participants participants per session into a fresh database, twice:
 *  (a) `flat`: today's schema (the drizzle migrations). Sessions by COPY into `virtual_sessions` (six indexes) under a
 *      savepoint, their id-map rows the same way, a checkpoint; participants by COPY into a temporary table then
 *      `insert … on conflict` into `session_participants` (its foreign key checked per row), a checkpoint; --batch rows
 *      a transaction. That is how S1's steps 1.1 and 1.4 write.
 *  (b) `partitioned`: the same migrations, then both tables re-created LIST-partitioned by tenant_id
 *      ({@link PARTITIONED_SCHEMA}). The same rows, the same transactions, go into standalone tables holding only the
 *      keys a resumable, idempotent load needs (the primary key, `(tenant_id, legacy_id)`), plus a global session-id
 *      registry (the primary key no longer makes `id` unique across tenants); then the other indexes are built by
 *      sort, and each table is ATTACHed as the tenant's partition (the foreign key validated once, there).
 * A second tenant of --background sessions (and its participants) is loaded first, untimed, so that no index starts
 * empty. After the load, both variants also write --row-path more rows of the tenant through the parent tables (the
 * path of an S1 re-run, S4's delta sync and the live service once the partition is attached).
 *
 * Per phase: wall time (PostgreSQL statements only: generating the rows is not timed), CPU seconds of every PostgreSQL
 * process (/proc utime + stime, exited backends and parallel workers included) and per row; in the load phases also
 * the backend's CPU per statement kind; for ATTACH the locks it holds and PostgreSQL's DEBUG1 notices (whether it had
 * to scan). Autovacuum is off so that each phase's CPU is its own; both variants ANALYZE the tenant's rows explicitly.
 *
 * Options: --sessions 75000,300000 --background 250000 --participants 2 --batch 10000 --row-path 20000
 * --parallel-maintenance 0 (max_parallel_maintenance_workers for the index builds) --default-partition (the background
 * tenant lives in a DEFAULT partition, which ATTACH must then scan) --json (also print the measurements as JSON)
 * --keep (keep the work dir). Takes ~7 minutes with the defaults.
 */
import { parseArgs } from 'node:util';
import { createDatabase, migrate } from '@vc/schema';
import pg from 'pg';
import { heldLocks, log, Meter, type PartFn, type PhaseResult } from './partition-probe/meter';
import { PARTICIPANT_COLUMNS, rowsOf, SESSION_COLUMNS, type Tenant } from './partition-probe/rows';
import { loadBootstrap, loadServices } from './services';

function options() {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '75000,300000' },
      background: { type: 'string', default: '250000' },
      participants: { type: 'string', default: '2' },
      batch: { type: 'string', default: '10000' },
      'row-path': { type: 'string', default: '20000' },
      'parallel-maintenance': { type: 'string', default: '0' },
      'default-partition': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const int = (text: string, name: string, least = 1): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < least) throw new Error(`--${name}: expected an integer of at least ${least}, got ${text}`);
    return n;
  };
  return {
    sessions: values.sessions.split(',').map((s) => int(s.trim(), 'sessions')),
    background: int(values.background, 'background'),
    participants: int(values.participants, 'participants'),
    batch: int(values.batch, 'batch'),
    rowPath: int(values['row-path'], 'row-path'),
    parallelMaintenance: int(values['parallel-maintenance'], 'parallel-maintenance', 0),
    defaultPartition: values['default-partition'],
    json: values.json,
    keep: values.keep,
  };
}
type Options = ReturnType<typeof options>;

// ---------------------------------------------------------------------------------------------------------------
// The partitioned schema: what had to change so that a tenant's rows can be a partition.

/**
 * Run after the drizzle migrations. A partitioned table's primary and unique keys must contain the partition key, so
 * `virtual_sessions`' key becomes (tenant_id, id) and every foreign key to it (session_participants, billing_events,
 * session_audit_events, which all carry tenant_id already) becomes (tenant_id, session_id). `session_participants`'
 * key and pseudonym key take tenant_id first. `id` alone is no longer unique across tenants, which S1's externalId
 * claim (`duplicate_external_id`, "another tenant holds this id") relies on: `session_ids` keeps that guarantee.
 */
export const PARTITIONED_SCHEMA = [
  'alter table session_participants drop constraint session_participants_session_id_virtual_sessions_id_fk',
  'alter table session_audit_events drop constraint session_audit_events_session_id_virtual_sessions_id_fk',
  'alter table billing_events drop constraint billing_events_session_id_virtual_sessions_id_fk',
  'alter table virtual_sessions rename to virtual_sessions_flat',
  'alter table session_participants rename to session_participants_flat',
  'create table virtual_sessions (like virtual_sessions_flat including defaults including constraints) partition by list (tenant_id)',
  'create table session_participants (like session_participants_flat including defaults including constraints) partition by list (tenant_id)',
  'drop table virtual_sessions_flat, session_participants_flat',
  'alter table virtual_sessions add constraint virtual_sessions_pkey primary key (tenant_id, id)',
  'create unique index virtual_sessions_tenant_legacy_uq on virtual_sessions (tenant_id, legacy_id)',
  'create index virtual_sessions_tenant_created_idx on virtual_sessions (tenant_id, created_at, id)',
  'create index virtual_sessions_tenant_status_idx on virtual_sessions (tenant_id, status, scheduled_start)',
  'create index virtual_sessions_tenant_patient_idx on virtual_sessions (tenant_id, patient_ref, scheduled_start)',
  'create index virtual_sessions_tenant_practitioner_idx on virtual_sessions (tenant_id, practitioner_ref, scheduled_start)',
  'alter table session_participants add constraint session_participants_pk primary key (tenant_id, session_id, participant_ref)',
  'create unique index session_participants_pseudonym_idx on session_participants (tenant_id, session_id, pseudonym)',
  'alter table session_participants add constraint session_participants_session_fk foreign key (tenant_id, session_id) references virtual_sessions (tenant_id, id) on delete cascade',
  'alter table session_audit_events add constraint session_audit_events_session_fk foreign key (tenant_id, session_id) references virtual_sessions (tenant_id, id) on delete restrict',
  'alter table billing_events add constraint billing_events_session_fk foreign key (tenant_id, session_id) references virtual_sessions (tenant_id, id) on delete restrict',
  'create table session_ids (id uuid primary key, tenant_id text not null)',
];

/** The secondary indexes built by sort after the load (the parent's definitions, so ATTACH adopts them). */
const SESSION_SECONDARY = [
  ['created', '(tenant_id, created_at, id)'],
  ['status', '(tenant_id, status, scheduled_start)'],
  ['patient', '(tenant_id, patient_ref, scheduled_start)'],
  ['practitioner', '(tenant_id, practitioner_ref, scheduled_start)'],
] as const;

const earlierJoin = 'excluded.first_joined_at is not null and (p.first_joined_at is null or excluded.first_joined_at < p.first_joined_at)';
/** 1.4's merge (MERGE_PARTICIPANT in participant-rows.ts) on the target aliased `p`, for a conflict target. */
const mergeParticipant = (keys: string) => `(${keys}) do update set
  role = case when ${earlierJoin} then excluded.role else p.role end,
  display_name = case when ${earlierJoin} then excluded.display_name else p.display_name end,
  first_joined_at = least(p.first_joined_at, excluded.first_joined_at),
  last_left_at = greatest(p.last_left_at, excluded.last_left_at),
  join_count = p.join_count + excluded.join_count`;

const CHECKPOINT = `insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status, cursor, read, written, updated_at)
  values ($1, 's1', $2, 'running', $3, $4, $4, now())
  on conflict (tenant_id, phase, step_id, key_range) do update set cursor = excluded.cursor, read = excluded.read, written = excluded.written, updated_at = now()`;

// ---------------------------------------------------------------------------------------------------------------
// The two variants.

const TENANT = (sessions: number): Tenant => ({ id: 'tenant-probe-a', index: 0, sessions });
const BACKGROUND = (sessions: number): Tenant => ({ id: 'tenant-probe-b', index: 1, sessions });

interface Target {
  sessions: string;
  participants: string;
  participantKeys: string;
  /** The global session-id registry, when `virtual_sessions`' key does not hold it. */
  registry?: string;
}

/**
 * Batches of S1's 1.1 as a first load from MariaDB writes them (`writeClaimingIds`): under the claim savepoint, the
 * sessions and then their id-map rows each by straight COPY under a savepoint; the checkpoint; the commit.
 */
async function loadSessions(m: Meter, part: PartFn, tenant: Tenant, from: number, to: number, opts: Options, target: Target, step: string) {
  for (let start = from; start < to; start += opts.batch) {
    const rows = rowsOf(tenant, start, Math.min(to, start + opts.batch), 0);
    await part('sessions COPY', async () => {
      await m.q('begin');
      await m.q('savepoint vc_claim');
      await m.q('savepoint vc_copy');
      await m.copy(`copy ${target.sessions} (${SESSION_COLUMNS}) from stdin`, rows.sessions);
      await m.q('release savepoint vc_copy');
    });
    if (target.registry) await part('session_ids COPY', () => m.copy(`copy ${target.registry} (id, tenant_id) from stdin`, rows.registry));
    await part('id_map COPY', async () => {
      await m.q('savepoint vc_copy');
      await m.copy('copy vc_migration.id_map (tenant_id, entity, legacy_id, new_id) from stdin', rows.idMap);
      await m.q('release savepoint vc_copy');
      await m.q('release savepoint vc_claim');
    });
    await part('checkpoint + commit', async () => {
      await m.q(CHECKPOINT, [tenant.id, step, JSON.stringify({ position: String(start) }), Math.min(to, start + opts.batch) - from]);
      await m.q('commit');
    });
  }
}

/** Batches of S1's 1.4: COPY into a temporary table, `insert … on conflict` into the target, checkpoint. */
async function loadParticipants(m: Meter, part: PartFn, tenant: Tenant, from: number, to: number, opts: Options, target: Target, step: string, refSuffix = '') {
  // Batches of sessions whose participants make about --batch rows.
  const perBatch = Math.max(1, Math.floor(opts.batch / opts.participants));
  for (let start = from; start < to; start += perBatch) {
    const rows = rowsOf(tenant, start, Math.min(to, start + perBatch), opts.participants, refSuffix);
    await part('session_participants upsert', async () => {
      await m.q('begin');
      await m.q(`create temporary table vc_participants_stage on commit drop as select ${PARTICIPANT_COLUMNS} from ${target.participants} with no data`);
      await m.copy(`copy vc_participants_stage (${PARTICIPANT_COLUMNS}) from stdin`, rows.participants);
      await m.q(
        `insert into ${target.participants} as p (${PARTICIPANT_COLUMNS}) select ${PARTICIPANT_COLUMNS} from vc_participants_stage on conflict ${mergeParticipant(target.participantKeys)}`,
      );
      await m.q('drop table vc_participants_stage');
    });
    await part('checkpoint + commit', async () => {
      await m.q(CHECKPOINT, [tenant.id, step, JSON.stringify({ position: String(start) }), rows.participants.length]);
      await m.q('commit');
    });
  }
}

/** The other tenant, untimed: straight COPY, then vacuum, analyze and a checkpoint so that nothing is left pending. */
async function loadBackground(m: Meter, opts: Options, registry: boolean): Promise<void> {
  const tenant = BACKGROUND(opts.background);
  for (let start = 0; start < tenant.sessions; start += 50_000) {
    const rows = rowsOf(tenant, start, Math.min(tenant.sessions, start + 50_000), opts.participants);
    await m.copy(`copy virtual_sessions (${SESSION_COLUMNS}) from stdin`, rows.sessions);
    if (registry) await m.copy('copy session_ids (id, tenant_id) from stdin', rows.registry);
    await m.copy('copy vc_migration.id_map (tenant_id, entity, legacy_id, new_id) from stdin', rows.idMap);
    await m.copy(`copy session_participants (${PARTICIPANT_COLUMNS}) from stdin`, rows.participants);
  }
  await m.q('vacuum analyze');
  await m.q('checkpoint');
}

/** After the load, the same tenant's later rows through the parent tables: an S1 re-run's, S4's and the service's path. */
async function rowPath(m: Meter, variant: string, n: number, opts: Options, target: Target): Promise<PhaseResult[]> {
  const tenant = TENANT(n);
  const extra = Math.min(opts.rowPath, n);
  return [
    await m.phase(variant, n, 'row path: sessions into the parent (all indexes)', opts.rowPath, (part) =>
      loadSessions(m, part, { ...tenant, index: 2, sessions: opts.rowPath }, 0, opts.rowPath, opts, { ...target, sessions: 'virtual_sessions' }, '4.1'),
    ),
    await m.phase(variant, n, 'row path: participants into the parent (FK per row)', extra * opts.participants, (part) =>
      loadParticipants(m, part, tenant, 0, extra, opts, { ...target, participants: 'session_participants' }, '4.2', '#later'),
    ),
    // A diagnostic: the same again with the foreign-key triggers off, to tell the per-row FK check from the rest.
    await m.phase(variant, n, 'row path: participants into the parent, FK triggers off', extra * opts.participants, async (part) => {
      await m.q('set session_replication_role = replica');
      try {
        await loadParticipants(m, part, tenant, 0, extra, opts, { ...target, participants: 'session_participants' }, '4.2', '#unchecked');
      } finally {
        await m.q('reset session_replication_role');
      }
    }),
  ];
}

async function flat(m: Meter, n: number, opts: Options): Promise<PhaseResult[]> {
  const tenant = TENANT(n);
  const target: Target = { sessions: 'virtual_sessions', participants: 'session_participants', participantKeys: 'session_id, participant_ref' };
  await loadBackground(m, opts, false);
  const out = [
    await m.phase('flat', n, 'sessions (1.1)', n, (part) => loadSessions(m, part, tenant, 0, n, opts, target, '1.1')),
    await m.phase('flat', n, 'participants (1.4)', n * opts.participants, (part) => loadParticipants(m, part, tenant, 0, n, opts, target, '1.4')),
    await m.phase('flat', n, 'analyze', n, (part) => part('analyze', () => m.q('analyze virtual_sessions, session_participants'))),
  ];
  out.push(...(await rowPath(m, 'flat', n, opts, target)));
  return out;
}

async function partitioned(m: Meter, n: number, opts: Options): Promise<PhaseResult[]> {
  const tenant = TENANT(n);
  const variant = opts.defaultPartition ? 'partitioned (background tenant in DEFAULT)' : 'partitioned';
  for (const statement of PARTITIONED_SCHEMA) await m.q(statement);
  // Parallel index builds spend more CPU for less wall; on 2 cores shared with the migrator only CPU counts.
  await m.q(`set max_parallel_maintenance_workers = ${opts.parallelMaintenance}`);
  const bound = opts.defaultPartition ? 'default' : `for values in ('${BACKGROUND(0).id}')`;
  await m.q(`create table virtual_sessions_bg partition of virtual_sessions ${bound}`);
  await m.q(`create table session_participants_bg partition of session_participants ${bound}`);
  await loadBackground(m, opts, true);

  const vs = 'virtual_sessions_probe_a';
  const sp = 'session_participants_probe_a';
  const target: Target = { sessions: vs, participants: sp, participantKeys: 'tenant_id, session_id, participant_ref', registry: 'session_ids' };
  const out: PhaseResult[] = [];
  out.push(
    await m.phase(variant, n, 'create the standalone tables', 0, (part) =>
      part('create', async () => {
        // A CHECK equal to the partition bound lets ATTACH skip the scan that proves it.
        await m.q(`create table ${vs} (like virtual_sessions including defaults including constraints)`);
        await m.q(`alter table ${vs} add constraint ${vs}_tenant check (tenant_id = '${tenant.id}')`);
        await m.q(`alter table ${vs} add constraint ${vs}_pkey primary key (tenant_id, id)`);
        await m.q(`create unique index ${vs}_tenant_legacy_uq on ${vs} (tenant_id, legacy_id)`);
        await m.q(`create table ${sp} (like session_participants including defaults including constraints)`);
        await m.q(`alter table ${sp} add constraint ${sp}_tenant check (tenant_id = '${tenant.id}')`);
        await m.q(`alter table ${sp} add constraint ${sp}_pk primary key (tenant_id, session_id, participant_ref)`);
      }),
    ),
  );
  out.push(await m.phase(variant, n, 'sessions (1.1) into the standalone table', n, (part) => loadSessions(m, part, tenant, 0, n, opts, target, '1.1')));
  out.push(
    await m.phase(variant, n, 'participants (1.4) into the standalone table', n * opts.participants, (part) =>
      loadParticipants(m, part, tenant, 0, n, opts, target, '1.4'),
    ),
  );
  out.push(
    await m.phase(variant, n, 'create the 4 secondary session indexes', n, async (part) => {
      for (const [name, columns] of SESSION_SECONDARY) await part(`index ${name}`, () => m.q(`create index ${vs}_${name}_idx on ${vs} ${columns}`));
    }),
  );
  out.push(
    await m.phase(variant, n, 'create the participant pseudonym index', n * opts.participants, (part) =>
      part('index pseudonym', () => m.q(`create unique index ${sp}_pseudonym_idx on ${sp} (tenant_id, session_id, pseudonym)`)),
    ),
  );
  out.push(await m.phase(variant, n, 'analyze', n, (part) => part('analyze', () => m.q(`analyze ${vs}, ${sp}`))));
  const indexCount = async (table: string) => Number((await m.q(`select count(*)::int as n from pg_index where indrelid = '${table}'::regclass`)).rows[0].n);
  const before = { vs: await indexCount(vs), sp: await indexCount(sp) };
  for (const [parent, table, name, rows] of [
    ['virtual_sessions', vs, 'attach the sessions partition', n],
    ['session_participants', sp, 'attach the participants partition (FK validated)', n * opts.participants],
  ] as const) {
    let locks: string[] = [];
    const result = await m.phase(variant, n, name, rows, (part) =>
      part('attach', async () => {
        await m.q('begin');
        await m.q('set local client_min_messages = debug1');
        await m.q(`alter table ${parent} attach partition ${table} for values in ('${tenant.id}')`);
        locks = await heldLocks(m);
        await m.q('commit');
      }),
    );
    out.push({ ...result, locks, notices: m.takeNotices().filter((text) => !text.startsWith('building index')) });
  }
  const after = { vs: await indexCount(vs), sp: await indexCount(sp) };
  if (after.vs !== before.vs || after.sp !== before.sp)
    log(`WARNING: ATTACH built indexes (sessions ${before.vs} → ${after.vs}, participants ${before.sp} → ${after.sp})`);
  const fk = await m.q(`select conname, convalidated from pg_constraint where conrelid = '${sp}'::regclass and contype = 'f'`);
  log(
    `${sp} foreign keys after ATTACH: ${fk.rows.map((r: { conname: string; convalidated: boolean }) => `${r.conname} validated=${r.convalidated}`).join(', ')}`,
  );
  const counted = await m.q(
    `select (select count(*)::int from virtual_sessions where tenant_id = $1) as s, (select count(*)::int from session_participants where tenant_id = $1) as p`,
    [tenant.id],
  );
  log(`through the parents: ${counted.rows[0].s} sessions, ${counted.rows[0].p} participants of ${tenant.id}`);
  out.push(...(await rowPath(m, variant, n, opts, { ...target, sessions: 'virtual_sessions', participants: 'session_participants' })));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

function markdown(results: readonly PhaseResult[]): string {
  const lines = [
    '| variant | N | phase | rows | wall s | PostgreSQL CPU s | CPU µs/row | load | backend CPU s per statement kind |',
    '|---|---:|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const parts = Object.entries(r.parts)
      .map(([k, p]) => `${k} ${p.backendCpuS.toFixed(2)}`)
      .join('; ');
    const perRow = r.rows > 0 ? ((r.pgCpuS / r.rows) * 1e6).toFixed(1) : '';
    lines.push(
      `| ${r.variant} | ${r.sessions} | ${r.phase} | ${r.rows} | ${r.wallS.toFixed(2)} | ${r.pgCpuS.toFixed(2)} | ${perRow} | ${r.load.mean} | ${parts} |`,
    );
  }
  for (const r of results.filter((x) => x.locks)) {
    lines.push('', `${r.variant} N=${r.sessions}, ${r.phase}: locks held ${r.locks!.join(', ')}`);
    if (r.notices?.length) lines.push(`  notices: ${r.notices.join(' | ')}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = options();
  const bootstrap = await loadBootstrap();
  const services = await loadServices();
  bootstrap.ensureDebianPackages(services.debianPackages.filter((p) => p.name === 'postgresql-15'));
  const workDir = services.makeWorkDir('vc-partition-probe-');
  // The S1 bench's settings, autovacuum off (see the header).
  const postgres = await services.startPostgres(workDir, {
    settings: ['shared_buffers=1GB', 'max_wal_size=8GB', 'checkpoint_timeout=30min', 'maintenance_work_mem=256MB', 'autovacuum=off'],
  });
  log(`PostgreSQL ${postgres.url}, work dir ${workDir}`);
  const results: PhaseResult[] = [];
  try {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    const version = (await admin.query('show server_version')).rows[0].server_version as string;
    log(`server_version ${version}`);
    for (const n of opts.sessions) {
      for (const [variant, run] of [
        ['flat', flat],
        ['partitioned', partitioned],
      ] as const) {
        const name = `probe_${variant}_${n}`;
        await admin.query(`create database ${name}`);
        const url = new URL(postgres.url);
        url.pathname = `/${name}`;
        const handle = await createDatabase(url.toString(), { max: 1 });
        await migrate(handle).finally(() => handle.close());
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          const pid = Number((await client.query('select pg_backend_pid() as pid')).rows[0].pid);
          results.push(...(await run(new Meter(client, pid, workDir), n, opts)));
        } finally {
          await client.end();
        }
        await admin.query(`drop database ${name}`);
        await admin.query('checkpoint');
      }
    }
    await admin.end();
    process.stdout.write(`${markdown(results)}\n`);
    if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    postgres.stop();
    if (opts.keep) log(`work dir kept: ${workDir}`);
    else services.removeWorkDir(workDir);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
