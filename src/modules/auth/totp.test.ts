import { authenticator } from 'otplib';
import { describe, expect, it } from 'vitest';
import {
  acceptedTotpStep,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  RECOVERY_CODE_COUNT,
  recoveryCodeHash,
  timeStepAt,
  totpCodeAt,
} from './totp.js';

describe('TOTP', () => {
  const secret = newTotpSecret();
  const now = Date.now();
  const step = timeStepAt(now);

  it('makes base32 secrets and an otpauth URI naming Bazaar and the account', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri('ada@example.com', secret));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Bazaar:ada@example.com');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Bazaar');
  });

  it('computes the same codes as an authenticator app', () => {
    expect(totpCodeAt(secret, step)).toBe(authenticator.clone({ epoch: now }).generate(secret));
  });

  it('accepts the current code and one step of drift either way', () => {
    for (const offset of [-1, 0, 1]) {
      expect(acceptedTotpStep(secret, totpCodeAt(secret, step + offset), null, now)).toBe(step + offset);
    }
    expect(acceptedTotpStep(secret, totpCodeAt(secret, step + 2), null, now)).toBeNull();
    expect(acceptedTotpStep(secret, totpCodeAt(secret, step - 2), null, now)).toBeNull();
  });

  it('never accepts a step twice, nor an older one', () => {
    const code = totpCodeAt(secret, step);
    const accepted = acceptedTotpStep(secret, code, null, now);
    expect(accepted).toBe(step);
    expect(acceptedTotpStep(secret, code, accepted, now)).toBeNull();
    expect(acceptedTotpStep(secret, totpCodeAt(secret, step - 1), accepted, now)).toBeNull();
    expect(acceptedTotpStep(secret, totpCodeAt(secret, step + 1), accepted, now)).toBe(step + 1);
  });

  it('refuses anything that is not six digits', () => {
    const code = totpCodeAt(secret, step);
    expect(acceptedTotpStep(secret, ` ${code}`, null, now)).toBeNull();
    expect(acceptedTotpStep(secret, code.slice(0, 5), null, now)).toBeNull();
  });
});

describe('recovery codes', () => {
  it(`makes ${RECOVERY_CODE_COUNT} distinct codes and stores only their hashes`, () => {
    const { codes, hashes } = newRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(hashes).toEqual(codes.map(recoveryCodeHash));
    expect(hashes.some((hash, i) => hash.includes(codes[i]!.replace('-', '')))).toBe(false);
  });

  it('matches a code typed in upper case or without the dash', () => {
    expect(recoveryCodeHash('ABCDE FGHIJ')).toBe(recoveryCodeHash('abcde-fghij'));
    expect(recoveryCodeHash('abcdefghij')).toBe(recoveryCodeHash('abcde-fghij'));
  });
});
