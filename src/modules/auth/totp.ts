import { randomInt } from 'node:crypto';
import { authenticator } from 'otplib';
import { safeEqual, sha256 } from '../../platform/security/tokens.js';

export const TOTP_ISSUER = 'Bazaar';
const STEP_SECONDS = 30;
/** Codes of the previous and next step are accepted too, for clock drift between phone and server. */
const DRIFT_STEPS = 1;
export const RECOVERY_CODE_COUNT = 10;
// No 0/1/8/9 look-alikes of o/l/b/g, so codes survive being read aloud or written down.
const RECOVERY_ALPHABET = 'abcdefghijkmnpqrstuvwxyz234567';

/** A new base32 TOTP secret (160 bits, as RFC 4226 recommends). */
export function newTotpSecret(): string {
  return authenticator.generateSecret(20);
}

/** The `otpauth://` URI authenticator apps read from a QR code. */
export function otpauthUri(accountEmail: string, secret: string): string {
  return authenticator.keyuri(accountEmail, TOTP_ISSUER, secret);
}

export function timeStepAt(epochMs: number): number {
  return Math.floor(epochMs / 1000 / STEP_SECONDS);
}

/** The code an authenticator app shows for `step` (tests and the step check below). */
export function totpCodeAt(secret: string, step: number): string {
  return authenticator.clone({ epoch: step * STEP_SECONDS * 1000 }).generate(secret);
}

/**
 * The time step `code` belongs to, if it is valid now and newer than `lastAcceptedStep`; null
 * otherwise. Refusing steps at or before the last accepted one means a code observed over
 * someone's shoulder (or replayed) cannot be used a second time.
 */
export function acceptedTotpStep(
  secret: string,
  code: string,
  lastAcceptedStep: number | null,
  now = Date.now(),
): number | null {
  if (!isTotpCode(code)) return null;
  const current = timeStepAt(now);
  for (let step = current + DRIFT_STEPS; step >= current - DRIFT_STEPS; step -= 1) {
    if (lastAcceptedStep !== null && step <= lastAcceptedStep) break;
    if (safeEqual(totpCodeAt(secret, step), code)) return step;
  }
  return null;
}

export function isTotpCode(code: string): boolean {
  return /^\d{6}$/.test(code);
}

/** Ten single-use codes like `k7d3m-x2qpa` (50 bits each), and the hashes that are stored. */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from(
      { length: 10 },
      () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)],
    ).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
  return { codes, hashes: codes.map(recoveryCodeHash) };
}

/** Case, spaces and dashes do not matter when a recovery code is typed back. */
export function recoveryCodeHash(code: string): string {
  return sha256(`recovery:${code.toLowerCase().replace(/[^a-z0-9]/g, '')}`);
}
