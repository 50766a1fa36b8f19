import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../ledger/canonical';
import type { ParticipantAggregate } from '@vc/domain/legacy';
import { bySession, foldedParticipants, participantsJson, participantsJsonBySession, type ParticipantProjection } from './participant-fingerprint';
import { sessionJson, sessionProjection } from './session-digests';

/** Texts that JSON escapes, or that sort differently as UTF-16 and as code points. */
const ODD = ['', 'plain', 'quote " and \\ backslash', 'line\nbreak\ttab\u0001ctl\u007f', 'é ü 漢字', '\u2028\u2029', '😀 astral', '\uFFFF'];

describe('the written-out canonical JSON of the streamed fingerprints', () => {
  it('is canonicalJson of a session projection, byte for byte, nulls and escapes included', () => {
    ODD.forEach((text, i) => {
      const projection = sessionProjection({
        legacyId: `${i}${text}`,
        patientRef: text,
        practitionerRef: i % 2 ? null : text,
        scheduledStart: i % 3 ? new Date(Date.UTC(2020, i, 3, 4, 5, 6, 789)) : null,
        scheduledEnd: '2021-02-03T04:05:06.007Z',
        startedAt: i % 2 ? null : new Date(0),
        status: i % 2 ? 'ended' : 'cancelled',
        cancelReason: i % 2 ? null : text,
        videoBackend: 'jitsi',
      });
      expect(sessionJson(projection)).toBe(canonicalJson(projection));
    });
  });

  it("is canonicalJson of a session's participant list, empty and several, nulls and escapes included", () => {
    const list: ParticipantProjection[] = ODD.map((text, i) => ({
      participantRef: `Patient/${text}`,
      role: i % 2 ? 'patient' : 'other',
      displayName: i % 3 ? text : null,
      firstJoinedAt: i % 2 ? '2024-01-02T03:04:05.006Z' : null,
      lastLeftAt: i % 4 ? null : '2024-01-02T03:44:05.000Z',
      lastJoinedAt: i % 3 ? '2024-01-02T03:50:00.001Z' : null,
      joinCount: i,
    }));
    expect(participantsJson([])).toBe(canonicalJson([]));
    expect(participantsJson(list.slice(0, 1))).toBe(canonicalJson(list.slice(0, 1)));
    expect(participantsJson(list)).toBe(canonicalJson(list));
  });

  it("is, written from the fold's aggregates per session, what the projections of those aggregates give", () => {
    // Several sessions, actors out of order, a leave-only actor (not a participant), nulls and escapes.
    const aggregates: ParticipantAggregate[] = ODD.flatMap((text, i) =>
      ['Practitioner/9', `Patient/${text}`, 'RelatedPerson/1'].map((actorRef, j) => ({
        sessionLegacyId: String(i % 3),
        actorRef: `${actorRef}-${i}`,
        role: j === 0 ? 'practitioner' : 'patient',
        roleFromPayload: j === 1,
        roleJoinedAt: j === 1 ? new Date(Date.UTC(2024, 0, 2, 3, i, j, 7 * i)) : null,
        displayName: (i + j) % 3 ? text : null,
        firstJoinedAt: j === 2 && i % 2 ? null : new Date(Date.UTC(2024, 0, 2, 3, i, j, 7 * i)),
        lastLeftAt: (i + j) % 4 ? null : new Date(Date.UTC(2024, 0, 2, 4, i, j)),
        lastJoinedAt: j === 2 && i % 2 ? null : new Date(Date.UTC(2024, 0, 2, 5, i, j, 3)),
        joinCount: j === 2 && i % 2 ? 0 : i + j,
        leaveCount: 1,
      })),
    );
    const expected = new Map([...bySession(foldedParticipants(aggregates))].map(([id, list]) => [id, participantsJson(list)]));
    expect(expected.size).toBe(3);
    expect(participantsJsonBySession(aggregates)).toEqual(expected);
  });
});
