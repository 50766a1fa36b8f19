import { access, constants } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { legacySourceSpec } from '../config';
import { closestFirst, legacyTenantList } from '../engine/known-tenants';
import { openLegacySource } from '../legacy/open';
import type { LegacySource, LegacyTable } from '../legacy/types';
import { malformedRecords, malformedWarning } from './csv-records';
import { csvContractFaults, DIGITAL_COMMUNICATION_TABLES, mysqlContractFaults, PATIENT_PORTAL_TABLES } from './legacy-contract';
import { fail, pass, probe, safeReason, skip, type CheckOutcome, type PreflightContext } from './types';

const CONTRACT_FAULTS_SHOWN = 8;

async function withMysql<T>(url: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), connectTimeout: 5_000 });
  try {
    return await fn(connection);
  } finally {
    await connection.end();
  }
}

function contractOutcome(id: string, faults: readonly string[], what: string): CheckOutcome {
  if (faults.length === 0) return pass(id, `legacy contract (docs/design.md §4) met by ${what}`);
  const shown = faults.slice(0, CONTRACT_FAULTS_SHOWN).join('; ');
  return fail(id, `${shown}${faults.length > CONTRACT_FAULTS_SHOWN ? `; and ${faults.length - CONTRACT_FAULTS_SHOWN} more` : ''}`);
}

/**
 * A CSV export's contract: its headers, then (headers right) its malformed records counted per file. Those
 * are a warning, not a failure: the phases reject each one and load the rest (docs/design.md §4).
 */
async function csvOutcome(id: string, dir: string, tables: readonly LegacyTable[], what: string): Promise<CheckOutcome> {
  const outcome = contractOutcome(id, await csvContractFaults(dir, tables), what);
  if (outcome.status !== 'pass') return outcome;
  return { ...outcome, reason: `${outcome.reason}${malformedWarning(await malformedRecords(dir, tables))}` };
}

interface ZoneRow extends RowDataPacket {
  global_zone: string;
  session_zone: string;
  system_zone: string;
  offset_minutes: number;
}

/**
 * The contract reads legacy datetimes as UTC (docs/design.md §4). DATETIME columns carry no zone, so the
 * server's zone is the evidence of what the legacy app wrote: anything but UTC stops here, to be confirmed.
 */
async function timeZone(connection: mysql.Connection): Promise<CheckOutcome> {
  const [[row]] = await connection.query<ZoneRow[]>(
    'select @@global.time_zone as global_zone, @@session.time_zone as session_zone, @@system_time_zone as system_zone, timestampdiff(minute, utc_timestamp(), now()) as offset_minutes',
  );
  const zone = `time_zone ${row!.global_zone}${row!.global_zone === 'SYSTEM' ? ` (system ${row!.system_zone})` : ''}`;
  if (Number(row!.offset_minutes) === 0) return pass('legacy.time_zone', `UTC: ${zone}, as the contract assumes for legacy datetimes`);
  return fail(
    'legacy.time_zone',
    `${zone} is ${Number(row!.offset_minutes)} min from UTC: the contract reads legacy datetimes as UTC (docs/design.md §4); confirm the legacy app wrote UTC, or convert before migrating`,
  );
}

/** The digital_communication source: reachable, its zone (MySQL) and tables against the contract. */
async function digitalCommunication(ctx: PreflightContext): Promise<CheckOutcome[]> {
  const spec = legacySourceSpec(ctx.config);
  if (spec.kind === 'csv') {
    const readable = await probe('legacy.reachable', async () => {
      await access(spec.dir, constants.R_OK | constants.X_OK);
      return pass('legacy.reachable', 'CSV export directory (VC_LEGACY_EXPORT_DIR) readable');
    });
    if (readable.status === 'fail') return [{ ...readable, reason: `VC_LEGACY_EXPORT_DIR: ${readable.reason}` }];
    return [
      readable,
      skip('legacy.time_zone', 'CSV export: datetimes are UTC by the export contract (docs/design.md §4)'),
      await probe('legacy.contract', async () =>
        csvOutcome('legacy.contract', spec.dir, DIGITAL_COMMUNICATION_TABLES, 'the export files (header columns: a CSV carries no types or keys)'),
      ),
    ];
  }
  try {
    return await withMysql(spec.url, async (connection) => {
      const [[row]] = await connection.query<RowDataPacket[]>('select version() as version, database() as db, current_user() as role');
      return [
        pass('legacy.reachable', `MySQL/MariaDB ${String(row!.version)}, database ${String(row!.db)} as ${String(row!.role)}`),
        await probe('legacy.time_zone', () => timeZone(connection)),
        await probe('legacy.contract', async () =>
          contractOutcome(
            'legacy.contract',
            await mysqlContractFaults(connection, DIGITAL_COMMUNICATION_TABLES),
            `tables ${DIGITAL_COMMUNICATION_TABLES.join(', ')} (columns, types, primary keys)`,
          ),
        ),
      ];
    });
  } catch (error) {
    return [fail('legacy.reachable', `VC_LEGACY_DATABASE_URL: ${safeReason(error)}`)];
  }
}

/** The patient_portal source (S3's consents): its own MySQL database, or the same CSV export. */
async function patientPortal(ctx: PreflightContext): Promise<CheckOutcome[]> {
  const { VC_PORTAL_DATABASE_URL: url, VC_LEGACY_EXPORT_DIR: dir } = ctx.config;
  if (url) {
    try {
      return await withMysql(url, async (connection) => [
        await probe('portal.contract', async () =>
          contractOutcome(
            'portal.contract',
            await mysqlContractFaults(connection, PATIENT_PORTAL_TABLES),
            'table telehealth_consent (columns, types, primary key)',
          ),
        ),
      ]);
    } catch (error) {
      return [fail('portal.contract', `VC_PORTAL_DATABASE_URL: ${safeReason(error)}`)];
    }
  }
  if (dir)
    return [
      await probe('portal.contract', async () =>
        csvOutcome('portal.contract', dir, PATIENT_PORTAL_TABLES, 'the export file telehealth_consent.csv (header columns)'),
      ),
    ];
  return [skip('portal.contract', 'VC_PORTAL_DATABASE_URL (mysql://…/patient_portal) not set: needed by s3 and validate')];
}

export interface LegacyFindings {
  outcomes: CheckOutcome[];
  /** Open when the source was reachable (the caller closes it), with the tenants to check. */
  source?: LegacySource;
  tenants: string[];
}

/**
 * The legacy side: both sources against the contract, then which tenants to check — `--tenant` must be
 * one legacy has (a typo fails naming the known ones, closest first); otherwise every legacy tenant.
 */
export async function legacyChecks(ctx: Omit<PreflightContext, 'tenants'>, tenant: string | undefined): Promise<LegacyFindings> {
  if (!ctx.config.VC_LEGACY_DATABASE_URL && !ctx.config.VC_LEGACY_EXPORT_DIR) {
    return {
      outcomes: [
        fail(
          'legacy.reachable',
          'VC_LEGACY_DATABASE_URL (mysql://…/digital_communication) or VC_LEGACY_EXPORT_DIR (a CSV export) is not set: needed by s1–s4 and validate',
        ),
      ],
      tenants: [],
    };
  }
  const outcomes = [...(await digitalCommunication({ ...ctx, tenants: [] })), ...(await patientPortal({ ...ctx, tenants: [] }))];
  if (outcomes.some((o) => o.id === 'legacy.reachable' && o.status === 'fail')) return { outcomes, tenants: [] };
  const source = await openLegacySource(legacySourceSpec(ctx.config));
  let known: string[];
  try {
    known = await legacyTenantList(source);
  } catch (error) {
    await source.close();
    return { outcomes: [...outcomes, fail('tenants.known', `reading the legacy tenants: ${safeReason(error)}`)], tenants: [] };
  }
  if (tenant !== undefined && !known.includes(tenant)) {
    outcomes.push(
      fail('tenants.known', `unknown tenant "${tenant}": the legacy source has ${known.length ? closestFirst(tenant, known).join(', ') : '(none)'}`),
    );
    return { outcomes, source, tenants: [] };
  }
  const tenants = tenant === undefined ? known : [tenant];
  outcomes.push(
    tenants.length
      ? pass('tenants.known', `${tenant === undefined ? `every legacy tenant: ${tenants.length}` : `tenant ${tenant} is one of legacy's ${known.length}`}`)
      : fail('tenants.known', 'the legacy source has no tenant'),
  );
  return { outcomes, source, tenants };
}
