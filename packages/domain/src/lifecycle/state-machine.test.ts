import { describe, expect, it } from 'vitest';
import { type SessionAction, type SessionStatus, transition } from './state-machine';

const now = new Date('2026-03-01T10:00:00.000Z');

describe('transition', () => {
  const allowed: Array<[SessionStatus, SessionAction, SessionStatus, Partial<Record<'startedAt' | 'endedAt' | 'cancelReason', unknown>>]> = [
    ['scheduled', { kind: 'join', role: 'patient' }, 'waiting', {}],
    ['scheduled', { kind: 'join', role: 'practitioner' }, 'in_progress', { startedAt: now }],
    ['waiting', { kind: 'join', role: 'practitioner' }, 'in_progress', { startedAt: now }],
    ['waiting', { kind: 'join', role: 'patient' }, 'waiting', {}],
    ['in_progress', { kind: 'join', role: 'patient' }, 'in_progress', {}],
    ['in_progress', { kind: 'join', role: 'practitioner' }, 'in_progress', {}],
    ['waiting', { kind: 'leave' }, 'waiting', {}],
    ['in_progress', { kind: 'leave' }, 'in_progress', {}],
    ['in_progress', { kind: 'end' }, 'ended', { endedAt: now }],
    ['waiting', { kind: 'end' }, 'ended', { endedAt: now }],
    ['scheduled', { kind: 'cancel', reason: 'patient_request' }, 'cancelled', { cancelReason: 'patient_request' }],
    ['waiting', { kind: 'cancel', reason: 'no_show' }, 'cancelled', { cancelReason: 'no_show' }],
  ];
  it.each(allowed)('%s + %o → %s', (from, action, to, sets) => {
    const result = transition(from, action, now);
    expect(result).toEqual({ ok: true, change: { from, to, statusChanged: from !== to, ...sets } });
  });

  const refused: Array<[SessionStatus, SessionAction]> = [
    ['ended', { kind: 'join', role: 'patient' }],
    ['cancelled', { kind: 'join', role: 'practitioner' }],
    ['scheduled', { kind: 'leave' }],
    ['ended', { kind: 'leave' }],
    ['scheduled', { kind: 'end' }],
    ['ended', { kind: 'end' }],
    ['cancelled', { kind: 'end' }],
    ['in_progress', { kind: 'cancel', reason: 'x' }],
    ['ended', { kind: 'cancel', reason: 'x' }],
    ['cancelled', { kind: 'cancel', reason: 'x' }],
  ];
  it.each(refused)('%s refuses %o as invalid_transition', (from, action) => {
    expect(transition(from, action, now)).toEqual({ ok: false, reason: 'invalid_transition', from, action: action.kind });
  });
});
