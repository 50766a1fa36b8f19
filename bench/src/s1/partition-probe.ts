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
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createDatabase, migrate } from '@vc/schema';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { seededRandom } from '../../reliability/random';
import { cpuSnapshot, ownTicks, TICKS_PER_SECOND } from '../validate/cpu-seconds';
import { sampleLoad, type LoadSample } from './load-average';
import { loadBootstrap, loadServices } from './services';

const log = (message: string): void => void process.stderr.write(`[partition probe] ${message}\n`);

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
// Synthetic rows shaped like S1's (uuid ids, text refs, timestamps, the status enum, a small jsonb migrated_from),
// as COPY text. Deterministic (a seeded PRNG), so both variants load the same rows.

const hex = (r: () => number, n: number): string => {
  let out = '';
  for (let i = 0; i < n; i++) out += ((r() * 16) | 0).toString(16);
  return out;
};

function uuid(r: () => number): string {
  const h = hex(r, 32);
  const variant = (8 + ((r() * 4) | 0)).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const iso = (ms: number | null) => (ms === null ? '\\N' : new Date(ms).toISOString());
const orNull = (text: string | null) => (text === null ? '\\N' : text);

/** S1's `virtual_sessions` columns, in its COPY order (apps/migrator/src/phases/s1/session-rows.ts). */
const SESSION_COLUMNS =
  'id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at, status, cancel_reason, video_backend, room_name, encounter_ref, migrated_from, created_at, updated_at';
/** S1's `session_participants` columns (apps/migrator/src/phases/s1/participant-rows.ts). */
const PARTICIPANT_COLUMNS = 'session_id, tenant_id, participant_ref, role, display_name, first_joined_at, last_left_at, join_count, source';

const NAMES = ['Zoë Müller', 'José Lindqvist', 'Åsa Dubois', 'Chloé Ng', 'Søren Wójcik', 'Amir Haddad', 'Kenji Sato', 'Priya Rao'];
const BACKENDS = ['jitsi', 'jitsi', 'jitsi', 'jitsi', 'jitsi', 'jitsi', 'jitsi', 'twilio', 'twilio', 'zoom'];
const START = Date.UTC(2019, 0, 1);
const SPAN = 5 * 365 * 86_400_000;
const MINUTE = 60_000;

interface Tenant {
  id: string;
  /** Its place among the generator's tenants: legacy ids interleave (1 + 4i + index), as @vc/fixtures numbers them. */
  index: number;
  sessions: number;
}

interface Rows {
  sessions: string[];
  idMap: string[];
  registry: string[];
  participants: string[];
}

/** Sessions [from, to) of a tenant and their participants, as COPY lines. */
function rowsOf(tenant: Tenant, from: number, to: number, participantsPerSession: number, refSuffix = ''): Rows {
  const out: Rows = { sessions: [], idMap: [], registry: [], participants: [] };
  const patients = Math.max(20, Math.ceil(tenant.sessions / 4));
  for (let i = from; i < to; i++) {
    const r = seededRandom(tenant.index * 1_000_003 + i * 7 + 1);
    const legacyId = String(1 + i * 4 + tenant.index);
    const id = uuid(r);
    const patient = `Patient/p-${pad(tenant.index * patients + 1 + Math.floor(r() * patients), 6)}`;
    const practitioner = r() < 0.03 ? null : `Practitioner/pr-${pad(tenant.index * 1000 + 1 + Math.floor(r() * 40), 5)}`;
    const scheduled = START + Math.floor((i / tenant.sessions) * SPAN) + Math.floor(r() * 3_600_000);
    const cancelled = r() < 0.15;
    const started = cancelled ? null : scheduled + Math.floor(r() * 10 * MINUTE);
    const ended = started === null ? null : started + (10 + Math.floor(r() * 40)) * MINUTE;
    const backend = BACKENDS[Math.floor(r() * BACKENDS.length)]!;
    const migratedFrom = `{"status": "${cancelled ? 'CANCELLED' : 'COMPLETED'}", "sourceRecord": "${legacyId}"${r() < 0.3 ? ', "videoBackend": null' : ''}}`;
    out.sessions.push(
      [
        id,
        tenant.id,
        legacyId,
        patient,
        orNull(practitioner),
        iso(scheduled),
        iso(scheduled + 30 * MINUTE),
        iso(started),
        iso(ended),
        cancelled ? 'cancelled' : 'ended',
        cancelled && r() < 0.5 ? 'Patient no-show' : '\\N',
        backend,
        r() < 0.85 ? `vc-${tenant.id}-${hex(r, 12)}` : '\\N',
        !cancelled && r() < 0.4 ? `Encounter/e-${legacyId}` : '\\N',
        migratedFrom,
        iso(scheduled - (1 + Math.floor(r() * 14)) * 86_400_000),
        iso((ended ?? scheduled) + (1 + Math.floor(r() * 10)) * MINUTE),
      ].join('\t'),
    );
    out.idMap.push(`${tenant.id}\tVirtualSession\t${legacyId}\t${id}`);
    out.registry.push(`${id}\t${tenant.id}`);
    const joined = started ?? scheduled;
    const refs = [
      [patient, 'patient'],
      [practitioner ?? `RelatedPerson/rp-${pad(i, 6)}`, 'practitioner'],
    ];
    for (let k = refs.length; k < participantsPerSession; k++) refs.push([`Practitioner/int-${pad(i * 10 + k, 7)}`, 'interpreter']);
    for (const [ref, role] of refs.slice(0, participantsPerSession)) {
      const first = joined + Math.floor(r() * 5 * MINUTE);
      out.participants.push(
        [
          id,
          tenant.id,
          `${ref}${refSuffix}`,
          role,
          NAMES[Math.floor(r() * NAMES.length)],
          iso(first),
          iso(first + 20 * MINUTE),
          1 + Math.floor(r() * 2),
          'audit_backfill',
        ].join('\t'),
      );
    }
  }
  return out;
}

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
// Measuring.

/** Times one kind of statement inside a phase (its wall and the backend's CPU add up per kind). */
type PartFn = <T>(kind: string, f: () => Promise<T>) => Promise<T>;

interface Part {
  wallMs: number;
  backendTicks: number;
}

export interface PhaseResult {
  variant: string;
  sessions: number;
  phase: string;
  rows: number;
  wallS: number;
  /** CPU seconds of all PostgreSQL processes during the phase. */
  pgCpuS: number;
  /** The backend's own CPU seconds and wall per statement kind. */
  parts: Record<string, { wallS: number; backendCpuS: number }>;
  /** The 1-minute load average during the phase: the box is shared, and CPU seconds grow on a busy one too. */
  load: LoadSample;
  locks?: string[];
  notices?: string[];
}

class Meter {
  private notices: string[] = [];
  constructor(
    readonly client: pg.Client,
    readonly backendPid: number,
    readonly workDir: string,
  ) {
    client.on('notice', (n) => this.notices.push(n.message ?? String(n)));
  }

  q(text: string, params?: unknown[]): Promise<pg.QueryResult> {
    return this.client.query(text, params);
  }

  async copy(sql: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const chunks = function* () {
      for (let i = 0; i < lines.length; i += 1000) yield `${lines.slice(i, i + 1000).join('\n')}\n`;
    };
    await pipeline(Readable.from(chunks()), this.client.query(copyFrom(sql)));
  }

  /** Runs `fn` as one phase: its parts are timed by {@link part}; only they count as the phase's wall time. */
  async phase(variant: string, sessions: number, name: string, rows: number, fn: (part: PartFn) => Promise<unknown>): Promise<PhaseResult> {
    const parts = new Map<string, Part>();
    const part: PartFn = async (kind, f) => {
      const t0 = performance.now();
      const c0 = ownTicks(this.backendPid);
      try {
        return await f();
      } finally {
        const p = parts.get(kind) ?? { wallMs: 0, backendTicks: 0 };
        p.wallMs += performance.now() - t0;
        p.backendTicks += ownTicks(this.backendPid) - c0;
        parts.set(kind, p);
      }
    };
    this.notices = [];
    const sampler = sampleLoad();
    const before = cpuSnapshot(this.workDir);
    await fn(part);
    const after = cpuSnapshot(this.workDir);
    const load = sampler.stop();
    const result: PhaseResult = {
      variant,
      sessions,
      phase: name,
      rows,
      wallS: [...parts.values()].reduce((s, p) => s + p.wallMs, 0) / 1000,
      pgCpuS: (after.postgres - before.postgres) / TICKS_PER_SECOND,
      parts: Object.fromEntries([...parts].map(([k, p]) => [k, { wallS: p.wallMs / 1000, backendCpuS: p.backendTicks / TICKS_PER_SECOND }])),
      load,
    };
    const perRow = rows > 0 ? ` (${((result.pgCpuS / rows) * 1e6).toFixed(1)} µs/row)` : '';
    log(
      `${variant} N=${sessions} ${name}: ${rows} rows, wall ${result.wallS.toFixed(2)} s, PostgreSQL CPU ${result.pgCpuS.toFixed(2)} s${perRow}, load ${load.mean}`,
    );
    return result;
  }

  takeNotices(): string[] {
    const out = this.notices;
    this.notices = [];
    return out;
  }
}

/** Relations (tables) this backend holds locks on, and the modes: what an ATTACH holds until its commit. */
async function heldLocks(m: Meter): Promise<string[]> {
  const { rows } = await m.q(
    `select c.relname, l.mode from pg_locks l join pg_class c on c.oid = l.relation
      where l.pid = pg_backend_pid() and l.locktype = 'relation' and c.relkind in ('r', 'p') and c.relnamespace = 'public'::regnamespace
      order by c.relname, l.mode`,
  );
  return rows.map((r: { relname: string; mode: string }) => `${r.relname}: ${r.mode}`);
}

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
