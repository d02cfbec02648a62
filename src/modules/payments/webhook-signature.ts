import { createHmac } from 'node:crypto';
import { safeEqual } from '../../platform/security/tokens.js';

/**
 * Webhook signatures in Stripe's scheme: header `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">`. The timestamp is signed too, so a captured delivery cannot be replayed
 * outside the tolerance window.
 */
export function signWebhook(
  secret: string,
  payload: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, payload)}`;
}

export type SignatureCheck = { valid: true } | { valid: false; reason: string };

export function verifyWebhook(
  secret: string,
  payload: string,
  header: string | undefined,
  toleranceSeconds: number,
  now = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!header) return { valid: false, reason: 'missing signature header' };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const [key, value] = item.split('=', 2).map((s) => s.trim());
    if (key && value) parts.set(key, [...(parts.get(key) ?? []), value]);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(timestamp)) return { valid: false, reason: 'missing timestamp' };
  // Both directions: a delivery from the future is as suspicious as an old one.
  if (Math.abs(now - timestamp) > toleranceSeconds)
    return { valid: false, reason: 'timestamp outside the tolerance' };
  const expected = hmac(secret, timestamp, payload);
  const signatures = parts.get('v1') ?? [];
  return signatures.some((s) => safeEqual(s, expected))
    ? { valid: true }
    : { valid: false, reason: 'signature mismatch' };
}

function hmac(secret: string, timestamp: number, payload: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
}
