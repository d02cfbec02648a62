import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../platform/security/passwords.js';
import {
  isCommonPassword,
  loadCommonPasswords,
  passwordProblem,
  PASSWORD_MAX_LENGTH,
} from './password-policy.js';

describe('password policy', () => {
  it('accepts 8 characters and refuses 7', () => {
    expect(passwordProblem('kx7!qpz2')).toBeNull();
    expect(passwordProblem('kx7!qpz')).toMatch(/at least 8/);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(passwordProblem('🔑🔑🔑🔑')).toMatch(/at least 8/);
    expect(passwordProblem('🔑🔑🔑🔑🔑🔑🔑🔑')).toBeNull();
  });

  it(`accepts passphrases up to ${PASSWORD_MAX_LENGTH} characters, more than the required 128`, () => {
    expect(passwordProblem('a-long passphrase '.repeat(14).slice(0, 200))).toBeNull();
    expect(passwordProblem('x'.repeat(PASSWORD_MAX_LENGTH) + 'y')).toMatch(/at most/);
  });

  it('refuses passwords from the shipped common-password list, whatever the case', () => {
    expect(isCommonPassword('password')).toBe(true);
    expect(isCommonPassword('PassWord')).toBe(true);
    expect(passwordProblem('iloveyou')).toMatch(/too common/);
    expect(passwordProblem('Trustno1')).toMatch(/too common/);
  });

  it('skips comment lines of the list', () => {
    const list = loadCommonPasswords();
    expect(list.size).toBeGreaterThan(10_000);
    expect([...list].some((entry) => entry.startsWith('#'))).toBe(false);
  });

  it('refuses the account’s own e-mail or name as password', () => {
    expect(passwordProblem('ada.lovelace@example.com', { email: 'ada.lovelace@example.com' })).toMatch(
      /e-mail/,
    );
    expect(passwordProblem('ada.lovelace', { email: 'ada.lovelace@example.com' })).toMatch(/e-mail/);
    expect(passwordProblem('Ada Lovelace 1815', { name: 'Ada Lovelace 1815' })).toMatch(/name/);
  });

  it('never truncates: two 200-character passwords that differ only after character 72 do not both verify', async () => {
    const base = 'p'.repeat(150);
    const first = `${base}${'a'.repeat(50)}`;
    const second = `${base}${'b'.repeat(50)}`;
    expect(first).toHaveLength(200);
    expect(first.slice(0, 72)).toBe(second.slice(0, 72));
    const hash = await hashPassword(first);
    expect(await verifyPassword(hash, first)).toBe(true);
    expect(await verifyPassword(hash, second)).toBe(false);
  });
});
