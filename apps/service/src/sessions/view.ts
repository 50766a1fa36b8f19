import type { SessionParticipant, VirtualSession } from '@vc/schema';
import type { ParticipantReply, SessionReply } from './schemas';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The API's camelCase view of a session row (docs/design.md §8); internal columns such as migrated_from stay in. */
export function sessionView(s: VirtualSession): SessionReply {
  return {
    id: s.id,
    tenantId: s.tenantId,
    legacyId: s.legacyId,
    patientRef: s.patientRef,
    practitionerRef: s.practitionerRef,
    scheduledStart: iso(s.scheduledStart),
    scheduledEnd: iso(s.scheduledEnd),
    startedAt: iso(s.startedAt),
    endedAt: iso(s.endedAt),
    status: s.status,
    cancelReason: s.cancelReason,
    videoBackend: s.videoBackend,
    roomName: s.roomName,
    encounterRef: s.encounterRef,
    version: s.version,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export function participantView(p: SessionParticipant): ParticipantReply {
  return {
    participantRef: p.participantRef,
    role: p.role,
    displayName: p.displayName,
    firstJoinedAt: iso(p.firstJoinedAt),
    lastLeftAt: iso(p.lastLeftAt),
    joinCount: p.joinCount,
    source: p.source,
  };
}
