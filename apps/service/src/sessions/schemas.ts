import { SESSION_STATUSES } from '@vc/domain/lifecycle';
import { z } from 'zod';
import { replySchemas, requestSchemas } from '../http/route-table';
import { pgTimestamp, safeText } from '../http/primitives';

/** Request and reply schemas of the sessions API; they validate requests and generate `/openapi.json`. */

const reference = (type: string) => z.string().regex(new RegExp(`^${type}/[A-Za-z0-9\\-.]{1,64}$`), { message: `expected a FHIR reference ${type}/<id>` });

const isoDateTime = pgTimestamp();

export const sessionIdParams = z.object({ id: z.uuid({ message: 'expected a session id (uuid)' }).describe('the session id (a UUID)') });

export const createSessionBody = z
  .object({
    patientRef: reference('Patient'),
    practitionerRef: reference('Practitioner').optional().describe('defaults to the calling practitioner'),
    scheduledStart: isoDateTime,
    scheduledEnd: isoDateTime.optional(),
  })
  .strict()
  .refine((b) => b.scheduledEnd === undefined || Date.parse(b.scheduledEnd) >= Date.parse(b.scheduledStart), {
    path: ['scheduledEnd'],
    message: 'expected scheduledEnd at or after scheduledStart',
  })
  .register(requestSchemas, { id: 'CreateSessionRequest' });

export const listSessionsQuery = z
  .object({
    status: z
      .enum(SESSION_STATUSES, { message: `expected one of ${SESSION_STATUSES.join(', ')}` })
      .optional()
      .describe('only sessions in this status'),
    from: isoDateTime.optional().describe('scheduledStart at or after'),
    to: isoDateTime.optional().describe('scheduledStart before'),
    patientRef: reference('Patient').optional().describe("only this patient's sessions (a patient caller sees only their own anyway)"),
    practitionerRef: reference('Practitioner').optional().describe("only this practitioner's sessions"),
    limit: z.coerce.number({ message: 'expected an integer 1-100' }).int().min(1).max(100).default(25).describe('sessions per page'),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, { message: 'expected the nextCursor of a previous page' })
      .optional()
      .describe('the `nextCursor` of the previous page; absent for the first page'),
  })
  .strict();

export const joinBody = z
  .object({ displayName: safeText().trim().min(1).max(200).optional().describe('shown in the meeting; defaults to the role') })
  .strict()
  .register(requestSchemas, { id: 'JoinRequest' });

export const cancelBody = z
  .object({ reason: safeText().trim().min(1).max(200) })
  .strict()
  .register(requestSchemas, { id: 'CancelRequest' });

export const emptyBody = z.object({}).strict().register(requestSchemas, { id: 'EmptyRequest', description: 'an empty JSON object, or no body' });

export const sessionReply = z
  .object({
    id: z.uuid(),
    tenantId: z.string(),
    legacyId: z.string().nullable(),
    patientRef: z.string(),
    practitionerRef: z.string().nullable(),
    scheduledStart: z.string().nullable(),
    scheduledEnd: z.string().nullable(),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    status: z.enum(SESSION_STATUSES),
    cancelReason: z.string().nullable(),
    videoBackend: z.enum(['jitsi', 'twilio', 'zoom']),
    roomName: z.string().nullable(),
    encounterRef: z.string().nullable(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .register(replySchemas, { id: 'Session' });

export const sessionPageReply = z.object({ items: z.array(sessionReply), nextCursor: z.string().nullable() }).register(replySchemas, { id: 'SessionPage' });

export const joinReply = z
  .object({
    joinUrl: z.url(),
    jwt: z.string(),
    roomName: z.string(),
    expiresAt: z.string(),
  })
  .register(replySchemas, { id: 'JoinTicket' });

export const participantReply = z
  .object({
    participantRef: z.string(),
    role: z.enum(['patient', 'practitioner', 'interpreter', 'caregiver', 'other']),
    displayName: z.string().nullable(),
    firstJoinedAt: z.string().nullable(),
    lastLeftAt: z.string().nullable(),
    joinCount: z.number().int(),
    source: z.enum(['live', 'audit_backfill']),
  })
  .register(replySchemas, { id: 'Participant' });

export const participantsReply = z.object({ items: z.array(participantReply) }).register(replySchemas, { id: 'ParticipantList' });

export type CreateSessionBody = z.infer<typeof createSessionBody>;
export type ListSessionsQuery = z.infer<typeof listSessionsQuery>;
export type SessionReply = z.infer<typeof sessionReply>;
export type ParticipantReply = z.infer<typeof participantReply>;
