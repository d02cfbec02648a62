import { describe, expect, it } from 'vitest';
import { formatMoney, itemsText } from './money-text.js';

describe('order facts in mails', () => {
  it('formats minor units with the currency’s own decimals', () => {
    expect(formatMoney(8490, 'USD')).toBe('USD 84.90');
    expect(formatMoney(5, 'EUR')).toBe('EUR 0.05');
    expect(formatMoney(1200, 'JPY')).toBe('JPY 1200');
    expect(formatMoney(1250, 'KWD')).toBe('KWD 1.250');
  });

  it('lists items with quantity, options and line total', () => {
    expect(
      itemsText(
        [
          { title: 'Linen shirt', options: { size: 'M', color: 'blue' }, quantity: 2, lineTotal: 4990 },
          { title: 'Canvas tote', options: {}, quantity: 1, lineTotal: 2900 },
          { title: 'Wool socks — L', options: { size: 'L', color: 'grey' }, quantity: 3, lineTotal: 3000 },
        ],
        'USD',
      ),
    ).toBe(
      '2 × Linen shirt (M, blue) — USD 49.90\n1 × Canvas tote — USD 29.00\n3 × Wool socks — L (grey) — USD 30.00',
    );
  });
});
