import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from './webhook-signature.js';

describe('webhook signatures', () => {
  const secret = 'whsec_test_secret';
  const body = JSON.stringify({ id: 'evt_1', type: 'payment_intent.succeeded' });
  const now = 1_800_000_000;

  it('accepts a fresh, correctly signed payload', () => {
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now), 300, now)).toEqual({ valid: true });
  });

  it('rejects a changed body, a wrong secret and a missing header', () => {
    const header = signWebhook(secret, body, now);
    expect(verifyWebhook(secret, `${body} `, header, 300, now).valid).toBe(false);
    expect(verifyWebhook('other', body, header, 300, now).valid).toBe(false);
    expect(verifyWebhook(secret, body, undefined, 300, now).valid).toBe(false);
    expect(verifyWebhook(secret, body, 'v1=abc', 300, now).valid).toBe(false);
  });

  it('rejects timestamps outside the tolerance in both directions', () => {
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now - 301), 300, now)).toEqual({
      valid: false,
      reason: 'timestamp outside the tolerance',
    });
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now + 301), 300, now).valid).toBe(false);
    expect(verifyWebhook(secret, body, signWebhook(secret, body, now - 299), 300, now).valid).toBe(true);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const good = signWebhook(secret, body, now).split(',')[1];
    expect(verifyWebhook(secret, body, `t=${now},v1=deadbeef,${good}`, 300, now).valid).toBe(true);
  });
});
