import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { csvField, LEGACY_TABLES } from '@vc/fixtures';
import { legacyQuery } from '../../../validate/testing/harness';

/**
 * Test support for S4's exactness tests: the legacy system living on after S1 (every kind of change S4
 * must sync), and a CSV export of a legacy MariaDB database as it stands (the same data on both paths).
 */

/** What the mutations did, for the tests' rule-based checks (legacy ids and the instants put in). */
export interface Mutations {
  /** Deferred at S1, since completed with an endedAt. */
  ended: string;
  /** Deferred at S1, since started and left `in_progress` without endedAt; its last leave. */
  stuck: { id: string; lastLeft: string };
  /** Deferred at S1, since cancelled, with a practitioner who joined before the cancellation. */
  cancelled: string;
  /** Loaded by S1, edited since (another end). */
  edited: string;
  /** Loaded by S1 with participants: a caregiver joined later, and a participant rejoined. */
  old: { id: string; rejoined: string };
  /** Booked after S1 for after the later as-of: still upcoming. */
  upcoming: string;
  /** Entered after S1, already took place, with its participant history. */
  late: string;
}

const at = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

async function event(url: string, sessionId: string, action: string, actorRef: string | null, when: string): Promise<void> {
  await legacyQuery(url, `insert into AuditLog (tenantId, entityType, entityId, action, actorRef, occurredAt) values ('acme', 'VirtualSession', ?, ?, ?, ?)`, [
    sessionId,
    action,
    actorRef,
    when,
  ]);
}

/** Sessions booked before S1 for after its as-of (S1 defers them); {@link mutateLegacy} makes them happen. */
const DEFERRED = [900011, 900012, 900013];

export async function bookDeferred(url: string, asOf: Date): Promise<void> {
  for (const [i, id] of DEFERRED.entries()) {
    const start = asOf.getTime() + (i + 2) * 86_400_000 + 10 * 3_600_000;
    await legacyQuery(
      url,
      `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, status, videoBackend, createdAt, updatedAt)
       values (?, 'acme', ?, 'Practitioner/d-s4x', ?, ?, 'scheduled', 'jitsi', ?, ?)`,
      [id, `Patient/p-s4x-${id}`, at(start), at(start + 1_800_000), at(asOf.getTime() - 86_400_000), at(asOf.getTime() - 86_400_000)],
    );
  }
}

/** Applies post-S1 changes of every kind to tenant acme (and a few bad rows); sessions deferred at `asOf` and historical before `later`. */
export async function mutateLegacy(url: string, asOf: Date, later: Date): Promise<Mutations> {
  const deferred = await legacyQuery<{ id: number; scheduledStart: string; scheduledEnd: string; patientRef: string; practitionerRef: string }>(
    url,
    `select id, scheduledStart, scheduledEnd, patientRef, practitionerRef from VirtualSession where id in (${DEFERRED.join(', ')}) order by id`,
  );
  const [ended, stuck, cancelled] = deferred as [(typeof deferred)[0], (typeof deferred)[0], (typeof deferred)[0]];
  const edit = `'${at(later.getTime() - 3_600_000)}'`;
  const plus = (text: string, minutes: number) => at(new Date(`${text.replace(' ', 'T')}Z`).getTime() + minutes * 60_000);

  await legacyQuery(
    url,
    `update VirtualSession set status = 'completed', startedAt = scheduledStart, endedAt = scheduledEnd, updatedAt = ${edit} where id = ?`,
    [ended.id],
  );
  await event(url, String(ended.id), 'participant.joined', ended.patientRef, plus(ended.scheduledStart, 1));
  await event(url, String(ended.id), 'participant.left', ended.patientRef, plus(ended.scheduledStart, 20));

  // §5: started, no endedAt → the last participant.left (before scheduledEnd here, so not scheduledEnd).
  const lastLeft = plus(stuck.scheduledStart, 17);
  await legacyQuery(url, `update VirtualSession set status = ' In_Progress', startedAt = scheduledStart, updatedAt = ${edit} where id = ?`, [stuck.id]);
  await event(url, String(stuck.id), 'participant.joined', stuck.practitionerRef, plus(stuck.scheduledStart, 0));
  await event(url, String(stuck.id), 'participant.left', stuck.practitionerRef, plus(stuck.scheduledStart, 12));
  await event(url, String(stuck.id), 'participant.left', stuck.practitionerRef, lastLeft);

  await legacyQuery(url, `update VirtualSession set status = 'cancelled', cancelReason = 'patient unwell', updatedAt = ${edit} where id = ?`, [cancelled.id]);
  await event(url, String(cancelled.id), 'participant.joined', cancelled.practitionerRef, plus(cancelled.scheduledStart, -5));
  await event(url, String(cancelled.id), 'participant.left', cancelled.practitionerRef, plus(cancelled.scheduledStart, -2));

  // An S1 session with backfilled participants (from S1's own fold): edited, a caregiver joins later, a participant rejoins.
  const [old] = await legacyQuery<{ id: number; actorRef: string; endedAt: string }>(
    url,
    `select s.id, a.actorRef, s.endedAt from VirtualSession s join AuditLog a on a.entityId = cast(s.id as char) and a.tenantId = s.tenantId
      where s.tenantId = 'acme' and lower(trim(s.status)) = 'completed' and s.endedAt > '2000-01-01' and s.scheduledStart < ? and trim(s.patientRef) <> ''
        and a.action = 'participant.joined' and a.actorRef like 'Patient/%' order by s.id limit 1`,
    [at(asOf.getTime())],
  );
  await legacyQuery(url, `update VirtualSession set endedAt = ?, updatedAt = ${edit} where id = ?`, [plus(old!.endedAt, 5), old!.id]);
  await event(url, String(old!.id), 'participant.joined', 'RelatedPerson/rp-s4-care', plus(old!.endedAt, -10));
  await event(url, String(old!.id), 'participant.left', 'RelatedPerson/rp-s4-care', plus(old!.endedAt, 4));
  await event(url, String(old!.id), 'participant.joined', old!.actorRef, plus(old!.endedAt, -3));
  await event(url, String(old!.id), 'participant.left', old!.actorRef, plus(old!.endedAt, 5));
  // Bad rows: an event with no actor, an event of no session, a session with no patient.
  await event(url, String(old!.id), 'participant.left', null, plus(old!.endedAt, 6));
  await event(url, '999999', 'participant.joined', 'Patient/p-s4-nowhere', plus(old!.endedAt, 1));
  const created = at(asOf.getTime() + 86_400_000);
  await legacyQuery(
    url,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, status, videoBackend, createdAt, updatedAt)
     values (900002, 'acme', '  ', 'Practitioner/d-s4x', ?, ?, 'scheduled', 'jitsi', ?, ?)`,
    [at(later.getTime() + 30 * 86_400_000), at(later.getTime() + 30 * 86_400_000 + 1_800_000), created, created],
  );
  await legacyQuery(
    url,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, status, videoBackend, createdAt, updatedAt)
     values (900001, 'acme', 'Patient/p-s4x-new', 'Practitioner/d-s4x', ?, ?, 'scheduled', 'jitsi', ?, ?)`,
    [at(later.getTime() + 20 * 86_400_000), at(later.getTime() + 20 * 86_400_000 + 1_800_000), created, created],
  );
  const lateStart = at(asOf.getTime() + 2 * 86_400_000);
  await legacyQuery(
    url,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, startedAt, endedAt, status, videoBackend, createdAt, updatedAt)
     values (900003, 'acme', 'Patient/p-s4x-late', 'Practitioner/d-s4x', ?, ?, ?, ?, 'completed', NULL, ?, ?)`,
    [lateStart, plus(lateStart, 30), plus(lateStart, 2), plus(lateStart, 25), created, created],
  );
  await event(url, '900003', 'participant.joined', 'Practitioner/d-s4x', plus(lateStart, 1));
  await event(url, '900003', 'participant.joined', 'Patient/p-s4x-late', plus(lateStart, 2));
  await event(url, '900003', 'participant.left', 'Patient/p-s4x-late', plus(lateStart, 25));
  await event(url, '900003', 'participant.left', 'Patient/p-s4x-ghost', plus(lateStart, 26));
  return {
    ended: String(ended.id),
    stuck: { id: String(stuck.id), lastLeft },
    cancelled: String(cancelled.id),
    edited: String(old!.id),
    old: { id: String(old!.id), rejoined: old!.actorRef },
    upcoming: '900001',
    late: '900003',
  };
}

/** Writes the digital_communication tables of a legacy MariaDB database as a CSV export into `dir` (rows by id). */
export async function exportCsv(url: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const spec of LEGACY_TABLES.filter((t) => t.database === 'digitalCommunication')) {
    const order = spec.columns.includes('id') ? 'id' : spec.columns[0]!;
    const rows = await legacyQuery<Record<string, string | number | null>>(
      url,
      `select ${spec.columns.map((c) => `\`${c}\``).join(', ')} from \`${spec.name}\` order by \`${order}\``,
    );
    const lines = [spec.columns.join(','), ...rows.map((row) => spec.columns.map((c) => csvField(row[c] ?? null)).join(','))];
    await writeFile(join(dir, `${spec.name}.csv`), `${lines.join('\n')}\n`, 'utf8');
  }
}
