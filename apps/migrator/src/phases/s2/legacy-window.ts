import { parseLegacyDatetime } from '@vc/domain/legacy';
import type { LegacySide } from '@vc/domain/parallel-run';
import type { LegacyRow, LegacySource, LegacyTable } from '../../legacy/types';
import { inWindow } from './window';

type Window = { from: Date; to: Date };

function date(raw: string | null | undefined): Date | null {
  const parsed = parseLegacyDatetime(raw);
  return parsed.kind === 'ok' ? parsed.value : null;
}

const norm = (v: string | null | undefined) => (v ?? '').trim().toLowerCase();

/** Every row of one legacy table for a tenant, streamed in bounded batches. */
export async function* legacyRows(
  source: LegacySource,
  table: LegacyTable,
  tenantId: string,
  batchSize: number,
  signal?: AbortSignal,
): AsyncGenerator<LegacyRow> {
  for await (const batch of source.read(table, { tenantId, batchSize, ...(signal ? { signal } : {}) })) yield* batch.rows;
}

/**
 * The legacy side of the parallel run: sessions whose `coalesce(scheduledStart, createdAt)` falls in the
 * window (the latest `updatedAt` of a duplicated id wins, as in S1), with the actors AuditLog saw join
 * and the codes BillingEvent billed. Memory holds the window's sessions only; the tables stream.
 * `excluded` are legacy ids S1 rejected: accounted for there, not expected on the new side.
 */
export async function readLegacyWindow(
  source: LegacySource,
  tenantId: string,
  window: Window,
  options: { batchSize: number; excluded: ReadonlySet<string>; signal?: AbortSignal },
): Promise<LegacySide[]> {
  const sessions = new Map<string, LegacySide & { updatedAt: number }>();
  for await (const row of legacyRows(source, 'VirtualSession', tenantId, options.batchSize, options.signal)) {
    const id = (row.id ?? '').trim();
    if (options.excluded.has(id)) continue;
    if (!inWindow(date(row.scheduledStart) ?? date(row.createdAt), window)) continue;
    const updatedAt = (date(row.updatedAt) ?? date(row.createdAt))?.getTime() ?? 0;
    const seen = sessions.get(id);
    if (seen && seen.updatedAt >= updatedAt) continue;
    sessions.set(id, {
      legacyId: id,
      externalId: (row.externalId ?? '').trim() || null,
      tenantId,
      patientRef: (row.patientRef ?? '').trim(),
      practitionerRef: (row.practitionerRef ?? '').trim() || null,
      scheduledStart: date(row.scheduledStart),
      status: row.status ?? '',
      startedAt: date(row.startedAt),
      endedAt: date(row.endedAt),
      participantRefs: [],
      hasEncounter: (row.encounterRef ?? '').trim() !== '',
      billingCodes: [],
      updatedAt,
    });
  }
  if (sessions.size === 0) return [];
  for await (const row of legacyRows(source, 'AuditLog', tenantId, options.batchSize, options.signal)) {
    if (norm(row.entityType) !== 'virtualsession' || norm(row.action) !== 'participant.joined') continue;
    const session = sessions.get((row.entityId ?? '').trim());
    const actor = (row.actorRef ?? '').trim();
    if (session && actor !== '') (session.participantRefs as string[]).push(actor);
  }
  for await (const row of legacyRows(source, 'BillingEvent', tenantId, options.batchSize, options.signal)) {
    const session = sessions.get((row.sessionId ?? '').trim());
    if (session && norm(row.status) !== 'void') (session.billingCodes as string[]).push((row.code ?? '').trim());
  }
  return [...sessions.values()].map(({ updatedAt: _updatedAt, ...side }) => side);
}
