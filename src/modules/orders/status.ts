/**
 * The order lifecycle as an explicit state machine. Every change goes through `assertTransition`,
 * so an illegal move (shipping an unpaid order, paying a cancelled one) is a CONFLICT, never a
 * silent overwrite.
 */
import { AppError } from '../../platform/errors.js';

export const orderStatuses = [
  'pending_payment',
  'paid',
  'fulfilled',
  'shipped',
  'delivered',
  'cancelled',
  'refunded',
  'partially_refunded',
] as const;

export type OrderStatus = (typeof orderStatuses)[number];

const transitions: Record<OrderStatus, readonly OrderStatus[]> = {
  pending_payment: ['paid', 'cancelled'],
  paid: ['fulfilled', 'refunded', 'partially_refunded'],
  fulfilled: ['shipped', 'refunded', 'partially_refunded'],
  shipped: ['delivered', 'refunded', 'partially_refunded'],
  delivered: ['refunded', 'partially_refunded'],
  partially_refunded: ['fulfilled', 'shipped', 'delivered', 'partially_refunded', 'refunded'],
  cancelled: [],
  refunded: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return transitions[from].includes(to);
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) {
    throw new AppError(
      'CONFLICT',
      `An order that is ${from.replace('_', ' ')} cannot become ${to.replace('_', ' ')}.`,
      {
        from,
        to,
        allowed: transitions[from],
      },
    );
  }
}

/** Statuses from which the order's money has been taken (refunds are possible). */
export const paidStatuses: readonly OrderStatus[] = [
  'paid',
  'fulfilled',
  'shipped',
  'delivered',
  'partially_refunded',
];
