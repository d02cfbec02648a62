import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/**
 * Authenticated encryption (AES-256-GCM) for secrets kept at rest, such as JWT signing keys.
 * Without a key, values are stored as plain text with a `plain:` prefix, so turning encryption
 * on later still reads old values.
 */
export class SecretBox {
  private readonly key: Buffer | undefined;

  constructor(passphrase: string | undefined) {
    this.key = passphrase ? scryptSync(passphrase, 'bazaar-secret-box-v1', 32) : undefined;
  }

  get encrypting(): boolean {
    return this.key !== undefined;
  }

  seal(plain: string): string {
    if (!this.key) return `plain:${plain}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
    if (!sealed.startsWith('v1:')) throw new Error('Unknown sealed value format.');
    if (!this.key) throw new Error('KEY_ENCRYPTION_KEY is required to read encrypted signing keys.');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
