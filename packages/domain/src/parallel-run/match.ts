import { expectedStatus } from './fields';
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

/** Legacy ids in key order: numerically when both are whole numbers (MySQL's bigint), else as text. */
function byLegacyId(a: LegacySide, b: LegacySide): number {
  const x = a.legacyId.trim();
  const y = b.legacyId.trim();
  if (/^\d+$/.test(x) && /^\d+$/.test(y) && x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Candidates in the order they were created, then by id: the order a re-run sees whatever the query returned. */
function byCreation(a: CandidateSide, b: CandidateSide): number {
  const at = (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0);
  return at !== 0 ? at : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * How well a candidate fits a legacy session that shares its composite key, best first: the same status
 * (as the legacy one reads), then the same started-or-not, then the closer start. A patient who cancels and
 * re-books one slot leaves two sessions under one key; this pairs the cancelled with the cancelled.
 */
function fit(l: LegacySide, c: CandidateSide): [number, number, number] {
  const status = expectedStatus(l.status, l.startedAt, 'parallel') === c.status ? 0 : 1;
  const started = (l.startedAt === null) === (c.startedAt === null) ? 0 : 1;
  const apart = l.startedAt !== null && c.startedAt !== null ? Math.abs(l.startedAt.getTime() - c.startedAt.getTime()) : 0;
  return [status, started, apart];
}

/**
 * Pairs the sessions that share one composite key: every legacy × candidate pair ranked by {@link fit},
 * ties broken by legacy id and then by creation, and taken best first while both sides are free. The
 * result depends on the sessions, not on the order either side was read in.
 */
function pairByFit(legacy: readonly LegacySide[], candidates: readonly CandidateSide[]): Array<[LegacySide, CandidateSide]> {
  const ranked = legacy
    .flatMap((l) => candidates.map((c) => ({ l, c, fit: fit(l, c) })))
    .sort((a, b) => a.fit[0] - b.fit[0] || a.fit[1] - b.fit[1] || a.fit[2] - b.fit[2] || byLegacyId(a.l, b.l) || byCreation(a.c, b.c));
  const taken = new Set<LegacySide | CandidateSide>();
  const pairs: Array<[LegacySide, CandidateSide]> = [];
  for (const { l, c } of ranked) {
    if (taken.has(l) || taken.has(c)) continue;
    taken.add(l).add(c);
    pairs.push([l, c]);
  }
  return pairs;
}

/**
 * Pairs legacy and candidate sessions: first by a shared id (the candidate's legacy id, or the legacy
 * externalId naming the candidate), then by the composite key, best fit first (see {@link pairByFit}).
 * Each session is used at most once, and the pairing does not depend on the order of the inputs.
 */
export function matchSessions(given: readonly LegacySide[], candidates: readonly CandidateSide[]): Matching {
  const legacy = [...given].sort(byLegacyId);
  const byLegacyIdKey = new Map<string, CandidateSide>();
  const byId = new Map<string, CandidateSide>();
  for (const c of candidates) {
    if (c.legacyId !== null) byLegacyIdKey.set(`${c.tenantId}\u0000${c.legacyId}`, c);
    byId.set(c.id, c);
  }
  const used = new Set<string>();
  const pairs: Pair[] = [];
  const unpaired: LegacySide[] = [];
  for (const l of legacy) {
    const migrated = byLegacyIdKey.get(`${l.tenantId}\u0000${l.legacyId}`);
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
  const byKey = new Map<string, { legacy: LegacySide[]; candidates: CandidateSide[] }>();
  const group = (key: string) => byKey.get(key) ?? byKey.set(key, { legacy: [], candidates: [] }).get(key)!;
  for (const c of candidates) {
    const key = compositeKey(c);
    if (!used.has(c.id) && key !== undefined) group(key).candidates.push(c);
  }
  const legacyOnly: LegacySide[] = [];
  for (const l of unpaired) {
    const key = compositeKey(l);
    if (key === undefined || !byKey.has(key)) legacyOnly.push(l);
    else group(key).legacy.push(l);
  }
  for (const tied of byKey.values()) {
    const matched = pairByFit(tied.legacy, tied.candidates);
    for (const [l, c] of matched) {
      used.add(c.id);
      pairs.push({ kind: 'parallel', legacy: l, candidate: c });
    }
    const paired = new Set(matched.map(([l]) => l));
    legacyOnly.push(...tied.legacy.filter((l) => !paired.has(l)));
  }
  legacyOnly.sort(byLegacyId);
  return { pairs, legacyOnly, candidateOnly: candidates.filter((c) => !used.has(c.id)).sort(byCreation) };
}
