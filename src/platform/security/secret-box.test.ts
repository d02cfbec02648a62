import { createDecipheriv, createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { prepareSecretBoxKey, SecretBox } from './secret-box.js';

/** The format every stored value has used since v1: scrypt(passphrase, fixed salt), AES-256-GCM. */
function openV1(sealed: string, passphrase: string): string {
  const key = scryptSync(passphrase, 'bazaar-secret-box-v1', 32);
  const raw = Buffer.from(sealed.slice(3), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

function sealV1(plain: string, passphrase: string): string {
  const key = scryptSync(passphrase, 'bazaar-secret-box-v1', 32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

describe('SecretBox', () => {
  it('seals with the key derived on first use, readable as v1', () => {
    const box = new SecretBox('first-use-passphrase');
    const sealed = box.seal('a private key');
    expect(sealed).toMatch(/^v1:/);
    expect(openV1(sealed, 'first-use-passphrase')).toBe('a private key');
    expect(new SecretBox('first-use-passphrase').open(sealed)).toBe('a private key');
  });

  it('reads values sealed before, and seals values readable as before, with the key derived once', () => {
    const box = new SecretBox('derived-once-passphrase');
    expect(box.open(sealV1('stored before', 'derived-once-passphrase'))).toBe('stored before');
    expect(
      openV1(new SecretBox('derived-once-passphrase').seal('stored after'), 'derived-once-passphrase'),
    ).toBe('stored after');
  });

  it('derives the same key ahead of use on the thread pool', async () => {
    const sealedBefore = sealV1('stored before', 'prepared-passphrase');
    await prepareSecretBoxKey('prepared-passphrase');
    const box = new SecretBox('prepared-passphrase');
    expect(box.open(sealedBefore)).toBe('stored before');
    expect(openV1(box.seal('stored after'), 'prepared-passphrase')).toBe('stored after');
    await expect(prepareSecretBoxKey(undefined)).resolves.toBeUndefined();
  });

  it('refuses a value sealed under another passphrase', () => {
    const sealed = new SecretBox('one-passphrase').seal('secret');
    expect(() => new SecretBox('another-passphrase').open(sealed)).toThrow();
  });

  it('stores plain text without a passphrase, and reads it back with one', () => {
    const plain = new SecretBox(undefined);
    expect(plain.encrypting).toBe(false);
    expect(plain.seal('x')).toBe('plain:x');
    expect(new SecretBox('').encrypting).toBe(false);
    expect(new SecretBox('some-passphrase').open('plain:x')).toBe('x');
    expect(() => plain.open(sealV1('x', 'some-passphrase'))).toThrow(/KEY_ENCRYPTION_KEY/);
  });
});
