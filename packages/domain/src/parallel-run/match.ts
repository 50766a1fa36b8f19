import type { CandidateSide, LegacySide, PairKind } from './types';

export interface Pair {
  kind: PairKind;
  legacy: LegacySide;
  candidate: CandidateSide;
}

export interface Matching {
  pairs: Pair[];
  legacyOnly: LegacySide[];
  candidateOnly: CandidateSide[];
}

/** tenant + patient + practitioner + scheduled start: how two systems recognise one appointment without a shared id. */
export function compositeKey(s: Pick<LegacySide, 'tenantId' | 'patientRef' | 'practitionerRef' | 'scheduledStart'>): string | undefined {
  if (s.scheduledStart === null) return undefined;
  return [s.tenantId, s.patientRef.trim(), (s.practitionerRef ?? '').trim(), s.scheduledStart.toISOString()].join('\u0000');
}

/**
 * Pairs legacy and candidate sessions: first by a shared id (the candidate's legacy id, or the legacy
 * externalId naming the candidate), then by the composite key. Each session is used at most once.
 */
export function matchSessions(legacy: readonly LegacySide[], candidates: readonly CandidateSide[]): Matching {
  const byLegacyId = new Map<string, CandidateSide>();
  const byId = new Map<string, CandidateSide>();
  for (const c of candidates) {
    if (c.legacyId !== null) byLegacyId.set(`${c.tenantId}\u0000${c.legacyId}`, c);
    byId.set(c.id, c);
  }
  const used = new Set<string>();
  const pairs: Pair[] = [];
  const unpaired: LegacySide[] = [];
  for (const l of legacy) {
    const migrated = byLegacyId.get(`${l.tenantId}\u0000${l.legacyId}`);
    const mirrored = l.externalId === null ? undefined : byId.get(l.externalId.trim().toLowerCase());
    if (migrated && !used.has(migrated.id)) {
      used.add(migrated.id);
      pairs.push({ kind: 'migrated', legacy: l, candidate: migrated });
    } else if (mirrored && !used.has(mirrored.id)) {
      used.add(mirrored.id);
      pairs.push({ kind: 'parallel', legacy: l, candidate: mirrored });
    } else {
      unpaired.push(l);
    }
  }
  const byKey = new Map<string, CandidateSide[]>();
  for (const c of candidates) {
    const key = compositeKey(c);
    if (used.has(c.id) || key === undefined) continue;
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  }
  const legacyOnly: LegacySide[] = [];
  for (const l of unpaired) {
    const key = compositeKey(l);
    const candidate = key === undefined ? undefined : byKey.get(key)?.find((c) => !used.has(c.id));
    if (candidate) {
      used.add(candidate.id);
      pairs.push({ kind: 'parallel', legacy: l, candidate });
    } else {
      legacyOnly.push(l);
    }
  }
  return { pairs, legacyOnly, candidateOnly: candidates.filter((c) => !used.has(c.id)) };
}
