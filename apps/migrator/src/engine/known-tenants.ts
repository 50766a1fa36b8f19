import { distance } from 'fastest-levenshtein';
import type { LegacySource } from '../legacy/types';
import { UsageError } from './errors';

/**
 * Tenants are what the legacy source says they are: every tenant with sessions or a configuration in
 * legacy digital_communication. A `--tenant` that is not one of them is a typo, refused before anything
 * is written, so it can never leave migration state behind for later `--all-tenants` runs to trip on.
 */
export async function legacyTenantList(legacy: LegacySource): Promise<string[]> {
  const [sessions, configs] = await Promise.all([legacy.tenants('VirtualSession'), legacy.tenants('TenantVirtualCareConfig')]);
  return [...new Set([...sessions, ...configs])].sort();
}

/** `known` ordered by closeness to `name` (edit distance, then name): the likely intended one first. */
export function closestFirst(name: string, known: readonly string[]): string[] {
  const lower = name.toLowerCase();
  return [...known].sort((a, b) => distance(lower, a.toLowerCase()) - distance(lower, b.toLowerCase()) || a.localeCompare(b));
}

/** Exit 2 unless `tenant` is one of `known`; the message lists the known ones, closest match first. */
export function assertKnownTenant(tenant: string, known: readonly string[], source: string): void {
  if (known.includes(tenant)) return;
  const listed = known.length ? closestFirst(tenant, known).join(', ') : '(none)';
  throw new UsageError(`unknown tenant "${tenant}": the legacy source (${source}) has ${listed}`);
}
