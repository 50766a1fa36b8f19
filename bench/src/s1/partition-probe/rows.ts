/** The partition probe's synthetic rows: shaped like S1's, as COPY text, the same for both variants. */
import { seededRandom } from '../../../reliability/random';

const hex = (r: () => number, n: number): string => {
  let out = '';
  for (let i = 0; i < n; i++) out += ((r() * 16) | 0).toString(16);
  return out;
};

function uuid(r: () => number): string {
  const h = hex(r, 32);
  const variant = (8 + ((r() * 4) | 0)).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const iso = (ms: number | null) => (ms === null ? '\\N' : new Date(ms).toISOString());
const orNull = (text: string | null) => (text === null ? '\\N' : text);

/** S1's `virtual_sessions` columns, in its COPY order (apps/migrator/src/phases/s1/session-rows.ts). */
export const SESSION_COLUMNS =
  'id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at, status, cancel_reason, video_backend, room_name, encounter_ref, migrated_from, created_at, updated_at';
/** S1's `session_participants` columns (apps/migrator/src/phases/s1/participant-rows.ts). */
export const PARTICIPANT_COLUMNS = 'session_id, tenant_id, participant_ref, role, display_name, first_joined_at, last_left_at, join_count, source';

const NAMES = ['Zoë Müller', 'José Lindqvist', 'Åsa Dubois', 'Chloé Ng', 'Søren Wójcik', 'Amir Haddad', 'Kenji Sato', 'Priya Rao'];
const BACKENDS = ['jitsi', 'jitsi', 'jitsi', 'jitsi', 'jitsi', 'jitsi', 'jitsi', 'twilio', 'twilio', 'zoom'];
const START = Date.UTC(2019, 0, 1);
const SPAN = 5 * 365 * 86_400_000;
const MINUTE = 60_000;

export interface Tenant {
  id: string;
  /** Its place among the generator's tenants: legacy ids interleave (1 + 4i + index), as @vc/fixtures numbers them. */
  index: number;
  sessions: number;
}

export interface Rows {
  sessions: string[];
  idMap: string[];
  registry: string[];
  participants: string[];
}

/** Sessions [from, to) of a tenant and their participants, as COPY lines. */
export function rowsOf(tenant: Tenant, from: number, to: number, participantsPerSession: number, refSuffix = ''): Rows {
  const out: Rows = { sessions: [], idMap: [], registry: [], participants: [] };
  const patients = Math.max(20, Math.ceil(tenant.sessions / 4));
  for (let i = from; i < to; i++) {
    const r = seededRandom(tenant.index * 1_000_003 + i * 7 + 1);
    const legacyId = String(1 + i * 4 + tenant.index);
    const id = uuid(r);
    const patient = `Patient/p-${pad(tenant.index * patients + 1 + Math.floor(r() * patients), 6)}`;
    const practitioner = r() < 0.03 ? null : `Practitioner/pr-${pad(tenant.index * 1000 + 1 + Math.floor(r() * 40), 5)}`;
    const scheduled = START + Math.floor((i / tenant.sessions) * SPAN) + Math.floor(r() * 3_600_000);
    const cancelled = r() < 0.15;
    const started = cancelled ? null : scheduled + Math.floor(r() * 10 * MINUTE);
    const ended = started === null ? null : started + (10 + Math.floor(r() * 40)) * MINUTE;
    const backend = BACKENDS[Math.floor(r() * BACKENDS.length)]!;
    const migratedFrom = `{"status": "${cancelled ? 'CANCELLED' : 'COMPLETED'}", "sourceRecord": "${legacyId}"${r() < 0.3 ? ', "videoBackend": null' : ''}}`;
    out.sessions.push(
      [
        id,
        tenant.id,
        legacyId,
        patient,
        orNull(practitioner),
        iso(scheduled),
        iso(scheduled + 30 * MINUTE),
        iso(started),
        iso(ended),
        cancelled ? 'cancelled' : 'ended',
        cancelled && r() < 0.5 ? 'Patient no-show' : '\\N',
        backend,
        r() < 0.85 ? `vc-${tenant.id}-${hex(r, 12)}` : '\\N',
        !cancelled && r() < 0.4 ? `Encounter/e-${legacyId}` : '\\N',
        migratedFrom,
        iso(scheduled - (1 + Math.floor(r() * 14)) * 86_400_000),
        iso((ended ?? scheduled) + (1 + Math.floor(r() * 10)) * MINUTE),
      ].join('\t'),
    );
    out.idMap.push(`${tenant.id}\tVirtualSession\t${legacyId}\t${id}`);
    out.registry.push(`${id}\t${tenant.id}`);
    const joined = started ?? scheduled;
    const refs = [
      [patient, 'patient'],
      [practitioner ?? `RelatedPerson/rp-${pad(i, 6)}`, 'practitioner'],
    ];
    for (let k = refs.length; k < participantsPerSession; k++) refs.push([`Practitioner/int-${pad(i * 10 + k, 7)}`, 'interpreter']);
    for (const [ref, role] of refs.slice(0, participantsPerSession)) {
      const first = joined + Math.floor(r() * 5 * MINUTE);
      out.participants.push(
        [
          id,
          tenant.id,
          `${ref}${refSuffix}`,
          role,
          NAMES[Math.floor(r() * NAMES.length)],
          iso(first),
          iso(first + 20 * MINUTE),
          1 + Math.floor(r() * 2),
          'audit_backfill',
        ].join('\t'),
      );
    }
  }
  return out;
}
