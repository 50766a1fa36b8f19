/**
 * CloudEvents 1.0 JSON envelopes (structured mode) for `virtual_care.<entity>.<verb>`. The event id is
 * also the JetStream `Nats-Msg-Id`, so it is made once (the outbox row's id) and passed in.
 */

export const EVENT_ENTITIES = ['session', 'participant', 'billing'] as const;
export type EventEntity = (typeof EVENT_ENTITIES)[number];

/** The subjects the service emits: one per lifecycle fact, named in the plan's words. */
export const EVENT_TYPES = [
  'virtual_care.session.created',
  'virtual_care.session.started',
  'virtual_care.session.ended',
  'virtual_care.session.cancelled',
  'virtual_care.participant.joined',
  'virtual_care.participant.left',
  'virtual_care.billing.created',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const CLOUD_EVENT_SOURCE = '/virtual-care-service';

export interface CloudEvent<T = Record<string, unknown>> {
  specversion: '1.0';
  id: string;
  source: string;
  type: EventType;
  /** The entity id the event is about (session id). */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  /** CloudEvents extension attribute (lower-case alphanumerics only, per the spec). */
  tenantid: string;
  data: T;
}

export interface CloudEventInput<T> {
  id: string;
  type: EventType;
  subject: string;
  tenantId: string;
  time: Date;
  data: T;
  source?: string;
}

/** `virtual_care.<entity>.<verb>` from its parts; throws on a part that would break the subject hierarchy. */
export function eventType(entity: EventEntity, verb: string): EventType {
  const type = `virtual_care.${entity}.${verb}`;
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    throw new Error(`unknown event type ${type} (expected one of ${EVENT_TYPES.join(', ')})`);
  }
  return type as EventType;
}

export function buildCloudEvent<T>(input: CloudEventInput<T>): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: input.id,
    source: input.source ?? CLOUD_EVENT_SOURCE,
    type: input.type,
    subject: input.subject,
    time: input.time.toISOString(),
    datacontenttype: 'application/json',
    tenantid: input.tenantId,
    data: input.data,
  };
}
