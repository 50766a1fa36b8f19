import { distance } from 'fastest-levenshtein';
import { collationKey } from '../legacy/matching';
import type { LegacySource } from '../legacy/types';
import { UsageError } from './errors';

/**
 * Tenants are what the legacy source says they are: every tenant with sessions or a configuration in
 * legacy digital_communication. A `--tenant` that is not one of them is a typo, refused before anything
 * is written, so it can never leave migration state behind for later `--all-tenants` runs to trip on.
 */
export async function legacyTenantList(legacy: LegacySource): Promise<string[]> {
  const [sessions, configs] = await Promise.all([legacy.tenants('VirtualSession'), legacy.tenants('TenantVirtualCareConfig')]);
  // Spellings legacy's collation equates are one tenant (a run reads all their rows and writes them under its id):
  // listed once, or two runs would load the same rows under two ids. Spelled as the config (the tenant's own row) spells it.
  const byKey = new Map<string, string>();
  for (const tenant of [...configs, ...sessions]) if (!byKey.has(collationKey(tenant))) byKey.set(collationKey(tenant), tenant);
  return [...byKey.values()].sort();
}

/** `known` ordered by closeness to `name` (edit distance, then name): the likely intended one first. */
export function closestFirst(name: string, known: readonly string[]): string[] {
  const lower = name.toLowerCase();
  return [...known].sort((a, b) => distance(lower, a.toLowerCase()) - distance(lower, b.toLowerCase()) || a.localeCompare(b));
}

/**
 * Exit 2 unless `tenant` is one of `known`; the message lists the known ones, closest match first. `whose` names
 * where the list came from when that is not the legacy source (a command that can run without one).
 */
export function assertKnownTenant(tenant: string, known: readonly string[], source: string, whose = `the legacy source (${source})`): void {
  if (known.includes(tenant)) return;
  // Another spelling of a listed tenant would be a second target tenant holding the same legacy rows.
  const spelled = known.find((k) => collationKey(k) === collationKey(tenant));
  if (spelled !== undefined) throw new UsageError(`tenant "${tenant}" is spelled "${spelled}" by the legacy source (${source}): run it as --tenant ${spelled}`);
  const listed = known.length ? closestFirst(tenant, known).join(', ') : '(none)';
  throw new UsageError(`unknown tenant "${tenant}": ${whose} has ${listed}`);
}

/**
 * The tenants a per-tenant phase runs for, `phase` and `enqueue phase` alike: each `--tenant` must be one
 * legacy has (exit 2 listing the known ones otherwise), and `--all-tenants` is every legacy tenant. Never
 * the target's own state: a phantom an older release left there must not come back with every run.
 */
export async function tenantsFromLegacy(legacy: LegacySource, asked: readonly string[] | undefined, phaseId: string): Promise<string[]> {
  const known = await legacyTenantList(legacy);
  if (asked?.length) {
    for (const tenant of asked) assertKnownTenant(tenant, known, legacy.description);
    return [...asked];
  }
  if (known.length === 0) throw new UsageError(`--all-tenants found no tenant for phase ${phaseId}: the legacy source (${legacy.description}) has none`);
  return known;
}
