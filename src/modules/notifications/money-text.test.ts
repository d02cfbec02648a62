import { describe, expect, it } from 'vitest';
import { itemsText } from './money-text.js';

describe('order facts in mails', () => {
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
