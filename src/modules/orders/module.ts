import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Cache } from '../../platform/cache/cache.js';
import { systemContext, type Context, type TxContext } from '../../platform/context.js';
import type { Database } from '../../platform/db/client.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { Catalog } from '../catalog/index.js';
import type { Inventory } from '../inventory/index.js';
import { registerUserDataContributor } from '../users/index.js';
import { placeOrder, type PlaceOrderInput } from './checkout.js';
import { expireUnpaidOrders, markPaid } from './lifecycle.js';
import { formatOrderNumber } from './records.js';
import type { OrderDetail } from './queries.js';
import { orderRoutes } from './routes.js';
import { orderSettingsRoutes } from './settings-routes.js';
import { ordersUserData } from './user-data.js';

export interface OrdersDeps {
  db: Database;
  jobs: Jobs;
  catalog: Pick<Catalog, 'variantsForSale'>;
  inventory: Inventory;
  logger: Logger;
  /** Placed orders are counted in `bazaar_orders_created_total`. */
  metrics?: Pick<Metrics, 'ordersCreated'>;
  /** The read cache: expiry, run by the worker, changes cached orders. */
  cache?: Cache;
  /** `ORDER_HOLD_MINUTES`: how long an unpaid order keeps its stock before it is cancelled. */
  holdMinutes: number;
}

/** Checkout, the order lifecycle and the money settings of checkout. */
export interface Orders {
  /** Checkout in the caller's transaction (the route wraps it in its idempotent transaction). */
  placeOrder: (tx: TxContext, input: PlaceOrderInput) => Promise<OrderDetail>;
  /**
   * Cancels unpaid orders past their hold, releasing their stock (what the `orders.expire` job
   * runs every minute). Returns how many it cancelled.
   */
  expireUnpaidOrders: (ctx: Context) => Promise<number>;
  /** Customer, admin and settings routes; register under `/api/v1`. */
  routes: FastifyPluginAsyncZod;
}

/** The stock functions `markOrderPaid` needs; they run in the caller's transaction and hold no state. */
let stockForPayments: Pick<Inventory, 'commitStock'> | undefined;

/** The order a payment paid, as the payment's event names it. */
export interface PaidOrder {
  number: string;
  email: string;
}

/**
 * `markOrderPaid` for other modules: the payment's transaction, the stock of the app's inventory.
 * The order it paid, or undefined when the order was paid already.
 */
export async function markOrderPaid(
  tx: TxContext,
  orderId: string,
  note: string,
): Promise<PaidOrder | undefined> {
  if (!stockForPayments) throw new Error('The orders module is not created yet (createOrdersModule).');
  const row = await markPaid(tx, stockForPayments, orderId, note);
  return row && { number: formatOrderNumber(row.number), email: row.email };
}

export function createOrdersModule(deps: OrdersDeps): Orders {
  stockForPayments = deps.inventory;
  registerUserDataContributor(ordersUserData);
  const expire = (ctx: Context) => expireUnpaidOrders(ctx, deps);
  deps.jobs.schedule('orders.expire', '* * * * *', async () => {
    const cancelled = await expire(systemContext(deps.db, 'orders.expire', deps.cache));
    if (cancelled > 0) deps.logger.info({ cancelled }, 'unpaid orders past their hold cancelled');
  });
  return {
    placeOrder: (tx, input) => placeOrder(tx, deps, input),
    expireUnpaidOrders: expire,
    routes: async (app) => {
      await app.register(orderRoutes(deps));
      await app.register(orderSettingsRoutes);
    },
  };
}
