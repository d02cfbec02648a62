import type { Actor } from '../../platform/context.js';
import { AppError, notFound } from '../../platform/errors.js';

/** What an actor wants to do with one order. */
export type OrderAction = 'read' | 'cancel' | 'manage';

/** In which capacity the actor may act: as the order's customer, or as shop staff. */
export type OrderCapacity = 'owner' | 'staff';

/**
 * The one access rule for orders, used by every route and by other modules (through
 * `getOrderForActor`). Staff need `orders:read` to read any order and `orders:write` to change
 * one; a customer reads (`orders:read:own`) and cancels (`orders:write:own`) their own. An actor
 * who may not even read the order gets NOT_FOUND, so order ids cannot be probed; one who may read
 * it but not do this gets FORBIDDEN.
 */
export function authorizeOrder(
  actor: Actor | null,
  order: { userId: string },
  action: OrderAction,
): OrderCapacity {
  const has = (permission: string) => actor?.permissions.has(permission) ?? false;
  const owner = actor?.kind === 'user' && actor.id === order.userId;
  const mayRead = has('orders:read') || (owner && has('orders:read:own'));
  if (action === 'read') {
    if (has('orders:read')) return 'staff';
    if (mayRead) return 'owner';
  } else {
    if (has('orders:write')) return 'staff';
    if (action === 'cancel' && owner && has('orders:write:own')) return 'owner';
    if (mayRead) throw new AppError('FORBIDDEN', 'You may not change this order.');
  }
  throw notFound('Order');
}

/** How the status history names who acted. */
export function actorTypeOf(actor: Actor | null): 'system' | 'client' | 'admin' | 'customer' {
  if (!actor) return 'system';
  if (actor.kind === 'client') return 'client';
  return actor.permissions.has('orders:write') ? 'admin' : 'customer';
}
