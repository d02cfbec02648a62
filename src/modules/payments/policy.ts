import type { Actor } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';

/**
 * Who may see a payment: admins (orders:read) any, a customer only their own. Anyone else gets
 * NOT_FOUND, so payment ids cannot be probed.
 */
export function assertCanReadPayment(actor: Actor | null, payment: { userId: string }): void {
  if (actor?.permissions.has('orders:read')) return;
  if (actor?.kind === 'user' && actor.id === payment.userId && actor.permissions.has('orders:read:own'))
    return;
  throw notFound('Payment');
}
