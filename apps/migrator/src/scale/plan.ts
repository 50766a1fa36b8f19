import { createHash } from 'node:crypto';
import type { Database } from '@vc/schema';
import type { PhaseId, RunOptions } from '../engine/types';
import { insertItems } from './item-state';
import { insertPlan, loadPlanOptionsRow } from './plan-store';

/**
 * A distributed plan: one work item per tenant of a phase. PostgreSQL holds the plan and each item's state
 * (the source of truth for done); JetStream carries the items to workers.
 *
 * The plan id is a hash of what the plan runs (phase, tenants, the options that change results), so the
 * same `enqueue` twice is the same plan. Without `--as-of` the as-of is fixed when the plan is first made
 * and persisted with it; a second `enqueue` of the same inputs reuses the stored one.
 */
export interface PlanOptions {
  /** ISO instant; null when the operator gave none (then the plan's creation time is stored). */
  asOf: string | null;
  batchSize: number;
  concurrency: number;
  maxRejectRate: number;
  /** `--split-larger-than`: a tenant with more legacy rows than this in a split table is cut into key ranges. */
  splitLargerThan?: number;
}

/** One key range of a split tenant's step: legacy keys in (after, until] of the step's table. */
export interface KeyRangeSpec {
  step: SplitStepId;
  index: number;
  count: number;
  after: string | null;
  until: string | null;
}

export interface PlanItem {
  itemKey: string;
  tenantId: string;
  subject: string;
  msgId: string;
  /** Absent for a tenant's whole phase (for a split tenant: its last item, run after all its ranges). */
  keyRange?: KeyRangeSpec;
}

/**
 * The S1 steps a split tenant runs by key range, each over the legacy table it reads in key order: 1.1's
 * sessions, then (once every 1.1 range is done: a session another range displaces must not have folded
 * participants) 1.4's audit rows. The tenant's whole-phase item runs last and takes over their work.
 */
export const SPLIT_STEPS = { '1.1': 'VirtualSession', '1.4': 'AuditLog' } as const;
export type SplitStepId = keyof typeof SPLIT_STEPS;
/** Ranges per step and tenant at most: a smaller `--split-larger-than` is raised for that tenant. */
export const MAX_RANGES = 64;

export interface Plan {
  id: string;
  phase: PhaseId;
  items: PlanItem[];
}

/** What a worker finds in a work message. */
export interface WorkPayload {
  planId: string;
  itemKey: string;
  phase: PhaseId;
  tenantId: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function planId(phase: PhaseId, tenants: readonly string[], options: PlanOptions): string {
  return `${phase}-${sha256(JSON.stringify({ phase, tenants: [...tenants].sort(), options })).slice(0, 16)}`;
}

/** `Nats-Msg-Id` of an item: (phase, tenant, range, plan id); the range token is empty for a whole phase. */
export function itemMsgId(phase: PhaseId, tenantId: string, planIdValue: string, rangeToken = ''): string {
  return sha256(JSON.stringify([phase, tenantId, rangeToken, planIdValue]));
}

const index4 = (n: number) => String(n).padStart(4, '0');

/** The subject token of a key range (`1_4-0002`): dots separate subject tokens. */
export const rangeToken = (r: Pick<KeyRangeSpec, 'step' | 'index'>) => `${r.step.replace('.', '_')}-${index4(r.index)}`;

/** The plan item key of a key range: `<tenant>/<step>/<index>`. */
const rangeItemKey = (tenantId: string, r: KeyRangeSpec) => `${tenantId}/${r.step}/${index4(r.index)}`;

/** The checkpoint key of a key range within its plan: its ranges sort in key order (1.4's merge relies on it). */
export const rangeCheckpointKey = (planIdValue: string, r: Pick<KeyRangeSpec, 'step' | 'index'>) => `${planIdValue}/${r.step}/${index4(r.index)}`;

/** `splits`: the key ranges of each tenant to split (absent: one item for the tenant). */
export function makePlan(
  phase: PhaseId,
  tenants: readonly string[],
  options: PlanOptions,
  subject: (...tokens: string[]) => string,
  splits: ReadonlyMap<string, readonly KeyRangeSpec[]> = new Map(),
): Plan {
  const id = planId(phase, tenants, options);
  const items = [...tenants].sort().flatMap((tenantId) => [
    ...(splits.get(tenantId) ?? []).map((keyRange) => ({
      itemKey: rangeItemKey(tenantId, keyRange),
      tenantId,
      subject: subject(phase, tenantId, rangeToken(keyRange)),
      msgId: itemMsgId(phase, tenantId, id, rangeToken(keyRange)),
      keyRange,
    })),
    { itemKey: tenantId, tenantId, subject: subject(phase, tenantId), msgId: itemMsgId(phase, tenantId, id) },
  ]);
  return { id, phase, items };
}

/**
 * Stores the plan and its items unless the plan is already there (its items as first made stay: key ranges
 * are cut once); returns the options as stored (the first as-of wins).
 */
export async function savePlan(db: Database, plan: Plan, options: PlanOptions, now: Date): Promise<PlanOptions> {
  const stored = { ...options, asOf: options.asOf ?? now.toISOString() };
  if (await insertPlan(db, { id: plan.id, phase: plan.phase, options: stored })) await insertItems(db, plan.id, plan.items);
  return loadPlanOptions(db, plan.id) as Promise<PlanOptions>;
}

export async function loadPlanOptions(db: Database, id: string): Promise<PlanOptions | undefined> {
  return (await loadPlanOptionsRow(db, id)) as PlanOptions | undefined;
}

/** The engine's RunOptions for an item of a plan. */
export function runOptionsOf(options: PlanOptions): RunOptions {
  return Object.freeze({
    dryRun: false,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    asOf: new Date(options.asOf!),
    maxRejectRate: options.maxRejectRate,
  });
}
