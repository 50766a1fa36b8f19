import { describe, expect, it } from 'vitest';
import { buildCloudEvent, eventType } from './cloud-event';

describe('CloudEvents envelope', () => {
  it('wraps data in a CloudEvents 1.0 structured envelope with the tenant as an extension attribute', () => {
    const event = buildCloudEvent({
      id: 'e-1',
      type: 'virtual_care.session.ended',
      subject: 's-1',
      tenantId: 'acme',
      time: new Date('2026-03-01T10:20:00.000Z'),
      data: { sessionId: 's-1' },
    });
    expect(event).toEqual({
      specversion: '1.0',
      id: 'e-1',
      source: '/virtual-care-service',
      type: 'virtual_care.session.ended',
      subject: 's-1',
      time: '2026-03-01T10:20:00.000Z',
      datacontenttype: 'application/json',
      tenantid: 'acme',
      data: { sessionId: 's-1' },
    });
  });

  it('names types virtual_care.<entity>.<verb> and refuses unknown verbs', () => {
    expect(eventType('participant', 'joined')).toBe('virtual_care.participant.joined');
    expect(() => eventType('session', 'exploded')).toThrow(/unknown event type virtual_care.session.exploded/);
  });
});
