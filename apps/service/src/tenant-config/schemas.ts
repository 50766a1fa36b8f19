import { PLACES_OF_SERVICE } from '@vc/domain/billing';
import { jitsiServerPathSegments } from '@vc/domain/jitsi';
import { z } from 'zod';
import { replySchemas, requestSchemas } from '../http/route-table';
import { boundedJsonObject, isUnstorableText, pgTimestamp, safeText, UNSTORABLE_TEXT_MESSAGE } from '../http/primitives';

/** Request and reply schemas of `/config`; the app secret goes in and never comes out. */

export const putConfigBody = z
  .object({
    jitsiServerUrl: z
      .url({ protocol: /^https?$/, message: 'expected the http(s) URL of the Jitsi deployment' })
      .refine((v) => !isUnstorableText(v), { message: UNSTORABLE_TEXT_MESSAGE })
      // The path, if any, is the Jitsi tenant the token's `sub` names; Jitsi has no nested tenants, so a deeper
      // path would make conferences no token of ours admits to.
      .refine((v) => !URL.canParse(v) || jitsiServerPathSegments(v).length <= 1, { message: 'expected at most one path segment (the Jitsi tenant)' }),
    jitsiAppId: safeText().trim().min(1).max(200),
    jitsiAppSecret: safeText()
      .min(16, { message: 'expected at least 16 characters' })
      .max(512)
      .optional()
      .describe('required when the tenant has no config yet; write-only'),
    branding: boundedJsonObject().nullable().default(null),
    billing: z
      .object({
        placeOfService: z.enum(PLACES_OF_SERVICE, { message: 'expected 02 or 10' }),
        modifier: z.enum(['95'], { message: 'expected 95 or null' }).nullable(),
      })
      .strict()
      .optional(),
    fhirEraStart: pgTimestamp('expected an ISO 8601 date-time').nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .register(requestSchemas, { id: 'PutConfigRequest' });

export type PutConfigBody = z.infer<typeof putConfigBody>;

export const connectionTestReply = z
  .object({
    ok: z.boolean(),
    testedAt: z.string(),
    checks: z.array(z.object({ id: z.string(), ok: z.boolean(), detail: z.string().optional() })),
  })
  .register(replySchemas, { id: 'ConnectionTest' });

export const configReply = z
  .object({
    tenantId: z.string(),
    jitsiServerUrl: z.string(),
    jitsiAppId: z.string(),
    hasAppSecret: z.literal(true),
    kmsKeyId: z.string(),
    branding: z.record(z.string(), z.unknown()).nullable(),
    billing: z.object({ placeOfService: z.enum(PLACES_OF_SERVICE), modifier: z.enum(['95']).nullable() }),
    fhirEraStart: z.string().nullable(),
    enabled: z.boolean(),
    lastConnectionTest: connectionTestReply.nullable(),
    version: z.number().int(),
    updatedAt: z.string(),
  })
  .register(replySchemas, { id: 'Config' });

export type ConfigReply = z.infer<typeof configReply>;
