import { describe, expect, it } from 'vitest';
import { sessionId, uuidV5 } from './ids';

describe('derived ids', () => {
  it('uuid v5 matches the RFC 9562 test vector (DNS namespace, www.example.com)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('derived ids are the ones earlier runs wrote, for short, empty, long and non-ASCII names', () => {
    expect(sessionId('acme', '7', null)).toBe('94f5f178-a97a-596b-a9e7-a305d3de48d4');
    expect(uuidV5(`VirtualSession:tenant-ü—🙂:${'x'.repeat(5000)}`)).toBe('ce0ea4de-5573-5943-9c95-c852072124c8');
    expect(uuidV5('')).toBe('6f1177d7-1589-5085-9bfd-6a1704c306c2');
    expect(sessionId('acme', '7', null)).toBe('94f5f178-a97a-596b-a9e7-a305d3de48d4');
  });

  it('a session keeps a uuid externalId as its id, lower-cased', () => {
    expect(sessionId('acme', '7', '9B2F6C1E-2D4F-4F7A-9A51-0B8A7C6D5E4F')).toBe('9b2f6c1e-2d4f-4f7a-9a51-0b8a7c6d5e4f');
  });

  it('a session without a uuid externalId gets the same derived id on every run, distinct per tenant', () => {
    expect(sessionId('acme', '7', 'ext-7')).toBe(sessionId('acme', '7', null));
    expect(sessionId('acme', '7', null)).not.toBe(sessionId('globex', '7', null));
  });
});
