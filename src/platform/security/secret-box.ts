import { createCipheriv, createDecipheriv, randomBytes, scrypt, scryptSync } from 'node:crypto';

const SALT = 'bazaar-secret-box-v1';
const KEY_BYTES = 32;

/**
 * The AES key of each passphrase, derived once per process. scrypt is slow on purpose (tens of
 * milliseconds of CPU), and every box of a process (signing keys, TOTP secrets, idempotent
 * responses, the test gateway) seals with the same KEY_ENCRYPTION_KEY.
 */
const derivedKeys = new Map<string, Buffer>();

/**
 * Starts deriving the key on libuv's thread pool, so start-up's database and Redis round trips
 * overlap it instead of the first box blocking the event loop for it. A box used before it is
 * done derives the key itself, synchronously; either way the result is the same key.
 */
export function prepareSecretBoxKey(passphrase: string | undefined): Promise<void> {
  if (!passphrase || derivedKeys.has(passphrase)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    scrypt(passphrase, SALT, KEY_BYTES, (error, key) => {
      if (error) return reject(error);
      if (!derivedKeys.has(passphrase)) derivedKeys.set(passphrase, key);
      resolve();
    });
  });
}

function keyOf(passphrase: string): Buffer {
  let key = derivedKeys.get(passphrase);
  if (!key) {
    key = scryptSync(passphrase, SALT, KEY_BYTES);
    derivedKeys.set(passphrase, key);
  }
  return key;
}

/**
 * Authenticated encryption (AES-256-GCM) for secrets kept at rest, such as JWT signing keys.
 * Without a key, values are stored as plain text with a `plain:` prefix, so turning encryption
 * on later still reads old values.
 */
export class SecretBox {
  private readonly passphrase: string | undefined;

  constructor(passphrase: string | undefined) {
    this.passphrase = passphrase || undefined;
  }

  get encrypting(): boolean {
    return this.passphrase !== undefined;
  }

  private get key(): Buffer | undefined {
    return this.passphrase === undefined ? undefined : keyOf(this.passphrase);
  }

  seal(plain: string): string {
    const key = this.key;
    if (!key) return `plain:${plain}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
    if (!sealed.startsWith('v1:')) throw new Error('Unknown sealed value format.');
    const key = this.key;
    if (!key) throw new Error('KEY_ENCRYPTION_KEY is required to read encrypted signing keys.');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
