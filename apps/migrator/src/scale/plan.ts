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
}

export interface PlanItem {
  itemKey: string;
  tenantId: string;
  subject: string;
  msgId: string;
}

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

/** `Nats-Msg-Id` of an item: (phase, tenant, range, plan id). No ranges yet: the range token is empty. */
export function itemMsgId(phase: PhaseId, tenantId: string, planIdValue: string): string {
  return sha256(JSON.stringify([phase, tenantId, '', planIdValue]));
}

export function makePlan(phase: PhaseId, tenants: readonly string[], options: PlanOptions, subject: (...tokens: string[]) => string): Plan {
  const id = planId(phase, tenants, options);
  const items = [...tenants]
    .sort()
    .map((tenantId) => ({ itemKey: tenantId, tenantId, subject: subject(phase, tenantId), msgId: itemMsgId(phase, tenantId, id) }));
  return { id, phase, items };
}

/** Stores the plan and its items unless already there; returns the options as stored (the first as-of wins). */
export async function savePlan(db: Database, plan: Plan, options: PlanOptions, now: Date): Promise<PlanOptions> {
  const stored = { ...options, asOf: options.asOf ?? now.toISOString() };
  await insertPlan(db, { id: plan.id, phase: plan.phase, options: stored });
  await insertItems(db, plan.id, plan.items);
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
