import { checkTexts, isStorableText, parseLegacyDatetime, type TextKind } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { BatchAdjustment, RejectInput, StepContext, Tx } from '../../engine/types';
import type { LegacyBatch, LegacyRow } from '../../legacy/types';
import { faultRejects, recordsOf } from '../../legacy/record-faults';
import { billingIdOf, billingTwins, type BillingTwins } from './billing-twins';

/** The carried row's columns with their SQL types: a batch goes in as one JSON array of records. */
const BILLING_COLUMNS = [
  ['tenant_id', 'text'],
  ['session_id', 'uuid'],
  ['legacy_id', 'text'],
  ['code', 'text'],
  ['modifier', 'text'],
  ['place_of_service', 'text'],
  ['units', 'int'],
  ['status', 'billing_status'],
  ['occurred_at', 'timestamptz'],
] as const;
const COLUMN_LIST = BILLING_COLUMNS.map(([name]) => name).join(', ');
const RECORD_TYPE = BILLING_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ');

/**
 * The legacy texts a carried row writes or is looked up by: the same guard the S1/S4 mappers run, so a NUL or
 * an over-long value is one reject naming the field instead of a batch PostgreSQL refuses on every run.
 */
const WRITTEN_TEXTS: Readonly<Partial<Record<string, TextKind>>> = {
  id: 'indexed',
  code: 'indexed',
  modifier: 'text',
  placeOfService: 'text',
  units: 'text',
  status: 'text',
  occurredAt: 'text',
};

/** A later copy of an id a CSV export carries twice (see billing-twins.ts): the first copy that can be carried is the bill. */
const TWIN_DETAIL = 'another BillingEvent row with the same id comes first in the export (the id twice); that row is the billing event carried over';
/** Carried rows are unique by (tenant, legacy id) only, so a row the insert refuses shares its id with one carried. */
const DUPLICATE_DETAIL = 'another BillingEvent row with the same id was carried over (the id twice in the export); that row was kept';

type CarriedStatus = 'published' | 'void';

/** Legacy billing statuses → ours. Legacy already sent these to the payer: they must never publish again. */
function billingStatus(raw: string | null | undefined): CarriedStatus {
  return (raw ?? '').trim().toLowerCase() === 'void' ? 'void' : 'published';
}

interface Carried {
  legacyId: string;
  record: Record<(typeof BILLING_COLUMNS)[number][0], unknown>;
  reject: RejectInput;
}

/**
 * Carries legacy `BillingEvent` rows of migrated sessions into `billing_events` (keyed by legacy id, so a
 * re-run inserts nothing and counts nothing written), resuming after the last committed legacy position. Rows of sessions that were
 * not migrated are skipped (they were rejected or deferred with their session). A row of a migrated session
 * is carried or rejected, never dropped: a text the target cannot hold → `invalid_text` / `field_too_long`,
 * no usable occurredAt → `invalid_datetime`, units that are no billed quantity or no place of service →
 * `invalid_value` (legacy's values are carried as they are, never defaulted), and a later copy of an id a CSV export carries twice, in the same
 * batch or any other → `duplicate_legacy_id` with its raw row and `file:line` (the first copy that can be carried
 * is the bill, {@link BillingTwins}). The same source row read again (a resumed pass, `--restart-step`, S4's
 * delta sync after S2) writes and rejects nothing, unless legacy changed its status since (a void in place, see
 * `restatusCarried`): the carried row then takes it, in the batch's commit, so a resumed pass sets it once.
 * `written` counts the rows the insert returned and the rows re-statused.
 */
export async function carryOverBilling(ctx: StepContext, after: string | null): Promise<void> {
  const source = await ctx.services.legacy();
  const twins = await billingTwins(source, ctx.tenantId, { after, batchSize: ctx.options.batchSize, signal: ctx.signal }, canCarryBilling);
  // A resumed pass stopped while reading its prefix knows only part of the claims: it must commit nothing.
  if (ctx.signal.aborted) return;
  for await (const batch of source.read('BillingEvent', { tenantId: ctx.tenantId, batchSize: ctx.options.batchSize, after, signal: ctx.signal })) {
    const { rows, restatus, rejects } = await mapBatch(ctx, batch, twins);
    await ctx.commit({
      cursor: { billingAfter: batch.position },
      read: recordsOf(batch),
      written: 0,
      rejects,
      write: async (tx) => {
        const inserted = await insertCarried(tx, rows);
        return { ...inserted, written: (inserted.written ?? 0) + (await restatusCarried(tx, ctx.tenantId, restatus)) };
      },
    });
    if (ctx.signal.aborted) return;
  }
}

const trimmed = (value: string | null | undefined) => (value ?? '').trim();
/** Only a storable text can be looked up (jsonb refuses `\u0000`); any other matches no migrated row anyway. */
const lookupable = (values: readonly string[]) => values.filter(isStorableText);

/** The largest `units` the target column (PostgreSQL `integer`) holds, as legacy's `int(11)` does. */
const MAX_UNITS = 2_147_483_647;

/**
 * Legacy's `units` as a claim can carry it: a whole number from 1 (E/M visits bill 1 unit) to what the column holds.
 * Anything else (0, negative, fractional, out of range, missing) is not a billed quantity, and turning it into 1
 * would make up a bill legacy never sent: `undefined`, so the row is rejected.
 */
function claimUnits(raw: string | null | undefined): number | undefined {
  const text = (raw ?? '').trim();
  if (!/^\+?\d{1,10}$/.test(text)) return undefined;
  const units = Number(text);
  return units >= 1 && units <= MAX_UNITS ? units : undefined;
}

type BillingRead = { occurredAt: Date; units: number; placeOfService: string } | { reason: RejectInput['reason']; detail: string };

/**
 * What a row's own fields say, whatever its session: the values carried when it can be carried, else why not (a
 * text the target cannot hold, no usable occurredAt, a units or place of service no claim can carry). Which copy of a
 * twice-exported id is the bill is decided on this.
 */
function readBilling(row: LegacyRow): BillingRead {
  const unwritable = checkTexts(row, WRITTEN_TEXTS);
  if (unwritable) return unwritable;
  const occurred = parseLegacyDatetime(row.occurredAt);
  if (occurred.kind !== 'ok') return { reason: 'invalid_datetime', detail: 'occurredAt is not a datetime (expected YYYY-MM-DD HH:MM:SS[.fff], UTC)' };
  const units = claimUnits(row.units);
  if (units === undefined) return { reason: 'invalid_value', detail: `units is not a whole number from 1 to ${MAX_UNITS} (a billed quantity)` };
  // Legacy's column is nullable, ours is not: every claim line names its place of service, and none is guessed for it.
  const placeOfService = trimmed(row.placeOfService);
  if (placeOfService === '') return { reason: 'invalid_value', detail: 'placeOfService is missing (legacy recorded none; a claim line needs one)' };
  return { occurredAt: occurred.value, units, placeOfService };
}

/** Whether a row can be carried on its own: which copy of a twice-exported id is the bill (validate asks it too). */
export const canCarryBilling = (row: LegacyRow) => 'occurredAt' in readBilling(row);

/** A carried bill whose legacy status changed since it was carried (legacy voids in place): its new status. */
interface Restatus {
  legacy_id: string;
  status: CarriedStatus;
}

async function mapBatch(ctx: StepContext, batch: LegacyBatch, twins: BillingTwins): Promise<{ rows: Carried[]; restatus: Restatus[]; rejects: RejectInput[] }> {
  const sessions = await migratedSessionIds(ctx.db.db, ctx.tenantId, lookupable([...new Set(batch.rows.map((r) => trimmed(r.sessionId)))]));
  // Carried by an earlier run (S2, or S4 after it): skipped, so `written` counts only what is new.
  const carried = await carriedBillingIds(ctx.db.db, ctx.tenantId, lookupable(batch.rows.map((r) => billingIdOf(r))));
  const rows: Carried[] = [];
  const restatus: Restatus[] = [];
  const rejects: RejectInput[] = faultRejects(batch.faults);
  for (const [i, row] of batch.rows.entries()) {
    const read = readBilling(row);
    // Claimed before the session is looked at: which copy is the bill depends on the export only.
    const claims = 'occurredAt' in read && twins.claims(billingIdOf(row), batch.ordinals[i]!);
    const sessionId = sessions.get(trimmed(row.sessionId));
    if (!sessionId) continue;
    const rejectOf = (reason: RejectInput['reason'], detail: string): RejectInput => ({
      legacyKey: `BillingEvent:${row.id ?? batch.ordinals[i]}`,
      reason,
      detail,
      raw: { ...row },
      ...(batch.locations?.[i] !== undefined ? { source: batch.locations[i] } : {}),
    });
    if (!('occurredAt' in read)) {
      rejects.push(rejectOf(read.reason, read.detail));
      continue;
    }
    if (!claims) {
      rejects.push(rejectOf('duplicate_legacy_id', TWIN_DETAIL));
      continue;
    }
    // The id's bill, carried by an earlier run or phase: the same source row again, its status legacy's now.
    const held = carried.get(billingIdOf(row));
    if (held !== undefined) {
      const status = billingStatus(row.status);
      if (held !== status) restatus.push({ legacy_id: billingIdOf(row), status });
      continue;
    }
    rows.push({
      legacyId: billingIdOf(row),
      record: toRecord(ctx.tenantId, sessionId, row, read),
      reject: rejectOf('duplicate_legacy_id', DUPLICATE_DETAIL),
    });
  }
  return { rows, restatus, rejects };
}

/**
 * Inserts the batch's rows and reads back which went in: a row the unique keys still refuse is a reject,
 * so what `written` says is what the table gained.
 */
async function insertCarried(tx: Tx, rows: readonly Carried[]): Promise<BatchAdjustment> {
  if (rows.length === 0) return {};
  const inserted = await tx.query<{ legacy_id: string }>(
    `insert into billing_events (${COLUMN_LIST})
     select ${COLUMN_LIST} from jsonb_to_recordset($1::jsonb) as r(${RECORD_TYPE})
     on conflict do nothing returning legacy_id`,
    [JSON.stringify(rows.map((r) => r.record))],
  );
  // Rows go in in batch order, so of two with one legacy id the first is the one inserted.
  const left = new Map<string, number>();
  for (const { legacy_id: id } of inserted) left.set(id, (left.get(id) ?? 0) + 1);
  const refused: RejectInput[] = [];
  for (const row of rows) {
    const n = left.get(row.legacyId) ?? 0;
    if (n > 0) left.set(row.legacyId, n - 1);
    else refused.push(row.reject);
  }
  return { written: inserted.length, rejects: refused };
}

/**
 * Sets the status legacy now gives the carried bills of `restatus`: legacy voids a bill in place (no updated_at, no
 * new row) and re-bills in a new row, so a carried bill left `published` would bill the patient twice beside its
 * re-bill. The other way (legacy reinstates a bill it had voided, void → published) is carried too: the target
 * records what legacy billed, and validate compares that status both ways. Only rows the migrator carried
 * (a legacy id) in a carried status are touched: a bill the live service wrote has no legacy id, and its
 * `pending` is never a carried status. Returns how many rows changed (a re-run finds them equal: none).
 */
async function restatusCarried(tx: Tx, tenantId: string, restatus: readonly Restatus[]): Promise<number> {
  if (restatus.length === 0) return 0;
  const changed = await tx.query<{ legacy_id: string }>(
    `update billing_events b set status = r.status
       from jsonb_to_recordset($1::jsonb) as r(legacy_id text, status billing_status)
      where b.tenant_id = $2 and b.legacy_id = r.legacy_id and b.status in ('published', 'void') and b.status <> r.status
      returning b.legacy_id`,
    [JSON.stringify(restatus), tenantId],
  );
  return changed.length;
}

function toRecord(tenantId: string, sessionId: string, row: LegacyRow, read: Extract<BillingRead, { units: number }>): Carried['record'] {
  return {
    tenant_id: tenantId,
    session_id: sessionId,
    legacy_id: billingIdOf(row),
    code: trimmed(row.code),
    modifier: trimmed(row.modifier) || null,
    place_of_service: read.placeOfService,
    units: read.units,
    status: billingStatus(row.status),
    occurred_at: read.occurredAt.toISOString(),
  };
}

/** The carried bills among `legacyIds`, with their status. */
async function carriedBillingIds(db: Database, tenantId: string, legacyIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await queryRows<{ legacy_id: string; status: string }>(
    db,
    sql`select legacy_id, status::text as status from billing_events where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(legacyIds)}::jsonb))`,
  );
  return new Map(rows.map((r) => [r.legacy_id, r.status]));
}

/** Legacy session id → new session id, for the migrated ones among `legacyIds`. */
export async function migratedSessionIds(db: Database, tenantId: string, legacyIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await queryRows<{ legacy_id: string; id: string }>(
    db,
    sql`select legacy_id, id from virtual_sessions where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(legacyIds)}::jsonb))`,
  );
  return new Map(rows.map((r) => [r.legacy_id, r.id]));
}
