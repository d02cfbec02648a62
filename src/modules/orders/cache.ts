import type { CacheEntity } from '../../platform/cache/cache.js';
import { invalidateAfterCommit } from '../../platform/cache/invalidate.js';
import type { Context } from '../../platform/context.js';
import { toOrderDetailDto, type OrderDetailDto } from './http-schemas.js';
import { orderDetail } from './queries.js';

/**
 * `GET /orders/{id}` from the read cache (`CACHE_TTL_ORDER`). The entry keeps the order's owner
 * beside its representation, so access is decided on every read, cached or not; the
 * representation is the same for the customer and for staff.
 */
export const orderCacheEntity: CacheEntity = {
  name: 'order',
  schema: 1,
  ttlGroup: 'order',
  invalidation: 'key',
};

export interface CachedOrder {
  userId: string;
  order: OrderDetailDto;
}

export async function cachedOrder(ctx: Context, orderId: string): Promise<CachedOrder> {
  const load = async (): Promise<CachedOrder> => {
    const detail = await orderDetail({ ...ctx, actor: null }, orderId);
    return { userId: detail.order.userId, order: toOrderDetailDto(detail) };
  };
  return ctx.cache ? ctx.cache.getOrLoad(orderCacheEntity, orderId.toLowerCase(), load) : load();
}

/** Every change of an order (status, refunds, erasure) calls this in its transaction. */
export function orderChanged(ctx: Context, orderIds: string[]): Promise<void> {
  return invalidateAfterCommit(
    ctx,
    orderCacheEntity,
    orderIds.map((id) => id.toLowerCase()),
  );
}
