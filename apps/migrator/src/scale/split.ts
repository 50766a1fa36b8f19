import type { Database } from '@vc/schema';
import { tenantsWithCheckpoints } from '../engine/state';
import type { KeyRange, SplitTenant } from '../engine/types';
import type { KeyRangeReader } from '../legacy/types';
import { MAX_RANGES, rangeCheckpointKey, SPLIT_STEPS, type KeyRangeSpec, type SplitStepId } from './plan';

/**
 * Key ranges of split tenants (`enqueue … --split-larger-than N`), like pgcopydb's
 * `--split-tables-larger-than`: a tenant with more than N rows in a table one of S1's split steps reads
 * is cut into ranges of about N rows of each (at most {@link MAX_RANGES}), on the legacy primary key.
 * A tenant whose S1 already ran whole (a whole-tenant checkpoint exists) is not split: it resumes as it was.
 */
export async function cutTenants(db: Database, legacy: KeyRangeReader, tenants: readonly string[], largerThan: number): Promise<Map<string, KeyRangeSpec[]>> {
  const started = await tenantsWithCheckpoints(db, 's1', tenants);
  const splits = new Map<string, KeyRangeSpec[]>();
  for (const tenantId of tenants) {
    if (started.has(tenantId)) continue;
    const steps = Object.entries(SPLIT_STEPS) as Array<[SplitStepId, (typeof SPLIT_STEPS)[SplitStepId]]>;
    const counts = await Promise.all(steps.map(([, table]) => legacy.count(table, tenantId)));
    if (counts.every((n) => n <= largerThan)) continue;
    const ranges: KeyRangeSpec[] = [];
    for (const [i, [step, table]] of steps.entries()) {
      const every = Math.max(largerThan, Math.ceil(counts[i]! / MAX_RANGES));
      const cuts = counts[i]! > every ? await legacy.cuts(table, tenantId, every) : [];
      // The last range is open-ended: rows legacy gains after the plan was made are read there.
      const starts = [null, ...cuts];
      starts.forEach((after, index) => ranges.push({ step, index, count: starts.length, after, until: cuts[index] ?? null }));
    }
    splits.set(tenantId, ranges);
  }
  return splits;
}

/** What a work item runs: one key range of a step, or the tenant's whole phase (taking over its ranges' work when split). */
export type ItemWork = { kind: 'range'; stepId: SplitStepId; range: KeyRange } | { kind: 'whole'; split?: SplitTenant };

/** The sibling items of one tenant in a plan, as `tenantItems` reads them. */
export interface SiblingItem {
  itemKey: string;
  status: string;
  keyRange: Record<string, unknown> | null;
}

const specOf = (item: SiblingItem) => item.keyRange as unknown as KeyRangeSpec | null;

const keyRangeOf = (planId: string, spec: KeyRangeSpec): KeyRange => ({ key: rangeCheckpointKey(planId, spec), after: spec.after, until: spec.until });

export function itemWork(planId: string, siblings: readonly SiblingItem[], itemKey: string): ItemWork {
  const spec = specOf(siblings.find((s) => s.itemKey === itemKey)!);
  if (spec) return { kind: 'range', stepId: spec.step, range: keyRangeOf(planId, spec) };
  const specs = siblings.map(specOf).filter((s): s is KeyRangeSpec => s !== null);
  if (specs.length === 0) return { kind: 'whole' };
  const ranges: Record<string, KeyRange[]> = {};
  for (const s of specs) (ranges[s.step] ??= []).push(keyRangeOf(planId, s));
  return { kind: 'whole', split: { ranges } };
}

/**
 * The items this one waits for: a 1.4 range waits for every 1.1 range of its tenant (orphan checks need
 * every session, and a session a later 1.1 range displaces must not have folded participants); the
 * tenant's whole-phase item waits for every range. `failed` names one that failed for good.
 */
export function prerequisites(siblings: readonly SiblingItem[], itemKey: string): { pending: string[]; failed?: string } {
  const spec = specOf(siblings.find((s) => s.itemKey === itemKey)!);
  const needed = siblings.filter((s) => {
    const other = specOf(s);
    if (s.itemKey === itemKey || other === null) return false;
    return spec === null || (spec.step === '1.4' && other.step === '1.1');
  });
  const failed = needed.find((s) => s.status === 'failed')?.itemKey;
  return { pending: needed.filter((s) => s.status !== 'done').map((s) => s.itemKey), ...(failed ? { failed } : {}) };
}
