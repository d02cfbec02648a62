import { describe, expect, it } from 'vitest';
import { currencyDigits, formatMoney } from './money.js';

describe('money', () => {
  it('writes minor units with the currency’s own decimals', () => {
    expect(formatMoney(8490, 'USD')).toBe('USD 84.90');
    expect(formatMoney(5, 'EUR')).toBe('EUR 0.05');
    expect(formatMoney(1200, 'JPY')).toBe('JPY 1200');
    expect(formatMoney(1250, 'KWD')).toBe('KWD 1.250');
  });

  it('groups thousands when asked, as invoices print amounts', () => {
    expect(formatMoney(123456, 'USD', { grouped: true })).toBe('USD 1,234.56');
    expect(formatMoney(5, 'EUR', { grouped: true })).toBe('EUR 0.05');
    expect(formatMoney(1500, 'JPY', { grouped: true })).toBe('JPY 1,500');
    expect(formatMoney(1234567, 'KWD', { grouped: true })).toBe('KWD 1,234.567');
  });

  it('falls back to two decimals for a code Intl does not know', () => {
    expect(currencyDigits('usd')).toBe(2);
    expect(currencyDigits('XQQ')).toBe(2);
    expect(formatMoney(199, 'XQQ')).toBe('XQQ 1.99');
  });
});
