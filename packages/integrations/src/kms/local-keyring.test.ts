import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKms } from './create-kms';
import { rotateLocalKeyring } from './local-keyring';
import { KmsError } from './types';

const dir = mkdtempSync(join(tmpdir(), 'vc-kms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `nested-${++n}`, 'kms.json');

const context = { tenantId: 'acme', purpose: 'jitsi-credentials' };
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const secret = () => new TextEncoder().encode('app-secret-value');

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KmsError);
  return (error as KmsError).code;
}

describe('local keyring KMS', () => {
  it('creates the keyring file with one 32-byte key and mode 0600 on first use', async () => {
    const path = freshPath();
    const kms = await createKms(`local:${path}`);
    const keyring = JSON.parse(readFileSync(path, 'utf8'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(keyring.version).toBe(1);
    expect(keyring.keys).toHaveLength(1);
    expect(keyring.primaryKeyId).toBe(kms.keyId);
    expect(keyring.keys[0].id).toBe(kms.keyId);
    expect(Buffer.from(keyring.keys[0].key, 'base64')).toHaveLength(32);
    expect(kms.description).toBe(`local:${path}`);
  });

  it('reuses the existing key when opened again', async () => {
    const path = freshPath();
    const first = await createKms(`local:${path}`);
    const ciphertext = await first.encrypt(secret(), context);
    const second = await createKms(`local:${path}`);
    expect(second.keyId).toBe(first.keyId);
    expect(text(await second.decrypt(ciphertext, context))).toBe('app-secret-value');
  });

  it('two processes racing to create the keyring end up with the same key', async () => {
    const path = freshPath();
    const [a, b] = await Promise.all([createKms(`local:${path}`), createKms(`local:${path}`)]);
    expect(a.keyId).toBe(b.keyId);
  });

  it('round-trips plaintext whatever the order of the context keys', async () => {
    const kms = await createKms(`local:${freshPath()}`);
    const ciphertext = await kms.encrypt(secret(), context);
    expect(text(await kms.decrypt(ciphertext, { purpose: 'jitsi-credentials', tenantId: 'acme' }))).toBe('app-secret-value');
  });

  it('produces base64 ciphertext that does not contain the plaintext and differs each time (random nonce)', async () => {
    const kms = await createKms(`local:${freshPath()}`);
    const a = await kms.encrypt(secret(), context);
    const b = await kms.encrypt(secret(), context);
    expect(a).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64').includes(Buffer.from('app-secret-value'))).toBe(false);
  });

  it('refuses another tenant context as invalid_ciphertext', async () => {
    const kms = await createKms(`local:${freshPath()}`);
    const ciphertext = await kms.encrypt(secret(), context);
    expect(await codeOf(kms.decrypt(ciphertext, { ...context, tenantId: 'globex' }))).toBe('invalid_ciphertext');
    expect(await codeOf(kms.decrypt(ciphertext, { tenantId: 'acme' }))).toBe('invalid_ciphertext');
  });

  it('refuses tampered or foreign ciphertext as invalid_ciphertext', async () => {
    const kms = await createKms(`local:${freshPath()}`);
    const bytes = Buffer.from(await kms.encrypt(secret(), context), 'base64');
    bytes[bytes.length - 1]! ^= 1;
    expect(await codeOf(kms.decrypt(bytes.toString('base64'), context))).toBe('invalid_ciphertext');
    expect(await codeOf(kms.decrypt('bm90IGFuIGVudmVsb3Bl', context))).toBe('invalid_ciphertext');
  });

  it('says not_found for ciphertext of a key another keyring made', async () => {
    const other = await createKms(`local:${freshPath()}`);
    const kms = await createKms(`local:${freshPath()}`);
    expect(await codeOf(kms.decrypt(await other.encrypt(secret(), context), context))).toBe('not_found');
  });

  it('after a rotation encrypts under the new key and still decrypts ciphertext of the old one', async () => {
    const path = freshPath();
    const before = await createKms(`local:${path}`);
    const old = await before.encrypt(secret(), context);
    const newKeyId = await rotateLocalKeyring(path);
    const after = await createKms(`local:${path}`);
    expect(after.keyId).toBe(newKeyId);
    expect(newKeyId).not.toBe(before.keyId);
    expect(text(await after.decrypt(old, context))).toBe('app-secret-value');
    expect(JSON.parse(readFileSync(path, 'utf8')).keys.map((k: { id: string }) => k.id)).toEqual([before.keyId, newKeyId]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('an instance opened before a rotation still decrypts ciphertext made under the new key', async () => {
    const path = freshPath();
    const before = await createKms(`local:${path}`);
    await rotateLocalKeyring(path);
    const after = await createKms(`local:${path}`);
    expect(text(await before.decrypt(await after.encrypt(secret(), context), context))).toBe('app-secret-value');
  });

  it('re-encrypts from the old key and context to the primary key and a new context', async () => {
    const path = freshPath();
    const before = await createKms(`local:${path}`);
    const old = await before.encrypt(secret(), { tenantId: 'acme' });
    await rotateLocalKeyring(path);
    const kms = await createKms(`local:${path}`);
    const moved = await kms.reEncrypt(old, { keyId: before.keyId, context: { tenantId: 'acme' } }, context);
    expect(text(await kms.decrypt(moved, context))).toBe('app-secret-value');
    expect(await codeOf(kms.decrypt(moved, { tenantId: 'acme' }))).toBe('invalid_ciphertext');
    expect(await codeOf(kms.reEncrypt(old, { keyId: kms.keyId, context: { tenantId: 'acme' } }, context))).toBe('invalid_ciphertext');
  });

  it('names the file, never the key material, when the keyring is malformed', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"version":1,"primaryKeyId":"k","keys":[{"id":"k","key":"c2hvcnQ=","createdAt":"x"}]}');
    const error = await createKms(`local:${path}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmsError);
    expect((error as KmsError).code).toBe('invalid_config');
    expect((error as KmsError).message).toContain(path);
    expect((error as KmsError).message).toContain('keys.0.key');
    expect((error as KmsError).message).not.toContain('c2hvcnQ=');
  });

  it('says invalid_config naming the path when the keyring path is unusable', async () => {
    const parentIsAFile = join(dir, 'a-file');
    writeFileSync(parentIsAFile, 'x');
    const error = await createKms(`local:${parentIsAFile}/kms.json`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmsError);
    expect((error as KmsError).code).toBe('invalid_config');
    expect((error as KmsError).message).toBe(`cannot read the local KMS keyring ${parentIsAFile}/kms.json`);
  });

  it('refuses a VC_KMS value that is neither local: nor aws:', async () => {
    expect(await codeOf(createKms('vault:secret'))).toBe('invalid_config');
    expect(await codeOf(createKms('local:'))).toBe('invalid_config');
  });
});
