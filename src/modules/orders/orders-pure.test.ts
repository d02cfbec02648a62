import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import { assertTransition, canTransition, orderStatuses } from './status.js';
import { computeTotals, rateFor } from './totals.js';

describe('order status machine', () => {
  it('follows the lifecycle pending_payment → paid → fulfilled → shipped → delivered', () => {
    expect(canTransition('pending_payment', 'paid')).toBe(true);
    expect(canTransition('paid', 'fulfilled')).toBe(true);
    expect(canTransition('fulfilled', 'shipped')).toBe(true);
    expect(canTransition('shipped', 'delivered')).toBe(true);
  });

  it('refuses illegal moves with a CONFLICT naming both statuses', () => {
    expect(() => assertTransition('pending_payment', 'shipped')).toThrow(AppError);
    try {
      assertTransition('cancelled', 'paid');
    } catch (error) {
      expect((error as AppError).code).toBe('CONFLICT');
      expect((error as AppError).details).toMatchObject({ from: 'cancelled', to: 'paid' });
    }
  });

  it('treats cancelled and refunded as final', () => {
    for (const to of orderStatuses) {
      expect(canTransition('cancelled', to)).toBe(false);
      expect(canTransition('refunded', to)).toBe(false);
    }
  });

  it('only lets unpaid orders be cancelled', () => {
    expect(canTransition('pending_payment', 'cancelled')).toBe(true);
    for (const from of ['paid', 'fulfilled', 'shipped', 'delivered'] as const)
      expect(canTransition(from, 'cancelled')).toBe(false);
  });
});

describe('order totals', () => {
  const flat = { country: '*', amount: 500, freeOver: 10_000 };

  it('adds lines, flat shipping and tax in minor units', () => {
    const totals = computeTotals(
      [
        { unitPrice: 1999, quantity: 2 },
        { unitPrice: 250, quantity: 1 },
      ],
      flat,
      1900,
    );
    expect(totals.subtotal).toBe(4248);
    expect(totals.shippingTotal).toBe(500);
    expect(totals.taxTotal).toBe(Math.round((4748 * 1900) / 10_000)); // 902.12 → 902
    expect(totals.total).toBe(4248 + 500 + 902);
  });

  it('ships free from the threshold and rounds tax half up', () => {
    expect(computeTotals([{ unitPrice: 10_000, quantity: 1 }], flat, 0)).toEqual({
      subtotal: 10_000,
      shippingTotal: 0,
      taxTotal: 0,
      total: 10_000,
    });
    expect(computeTotals([{ unitPrice: 5, quantity: 1 }], { ...flat, amount: 0 }, 1000).taxTotal).toBe(1); // 0.5 → 1
  });

  it('picks the country’s rate, else the * fallback', () => {
    const rates = [flat, { country: 'DE', amount: 700, freeOver: null }];
    expect(rateFor(rates, 'DE')?.amount).toBe(700);
    expect(rateFor(rates, 'FR')?.amount).toBe(500);
    expect(rateFor([{ country: 'DE', amount: 1, freeOver: null }], 'FR')).toBeUndefined();
  });
});
