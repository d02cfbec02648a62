import { describe, expect, it } from 'vitest';
import { canMovePayment, paymentStatuses, type PaymentStatus } from './gateway.js';

describe('payment status transitions', () => {
  it('only move forward; succeeded and cancelled are final; failed may still succeed', () => {
    const allowed = (from: PaymentStatus) => paymentStatuses.filter((to) => canMovePayment(from, to));
    expect(allowed('requires_confirmation')).toEqual([
      'requires_action',
      'processing',
      'succeeded',
      'failed',
      'cancelled',
    ]);
    expect(allowed('requires_action')).toEqual(['processing', 'succeeded', 'failed', 'cancelled']);
    expect(allowed('processing')).toEqual(['succeeded', 'failed', 'cancelled']);
    expect(allowed('failed')).toEqual(['succeeded']);
    expect(allowed('succeeded')).toEqual([]);
    expect(allowed('cancelled')).toEqual([]);
  });
});
