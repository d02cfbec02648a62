import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope, pageOf } from '../../platform/http/envelope.js';
import { respondInTransaction } from '../../platform/http/idempotency.js';
import { contextOf } from '../../platform/http/server.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { placeOrder, type CheckoutDeps } from './checkout.js';
import {
  adminOrdersQuery,
  cancelOrderBody,
  createOrderBody,
  myOrdersQuery,
  noteBody,
  orderEnvelope,
  orderIdParams,
  orderList,
  shipOrderBody,
  toOrderDetailDto,
  toOrderDto,
} from './http-schemas.js';
import { advanceOrder, cancelOrder, type LifecycleDeps } from './lifecycle.js';
import { cachedOrder } from './cache.js';
import { authorizeOrder } from './policy.js';
import { listOrders, type OrderListPage } from './queries.js';

const tags = ['orders'];

/** `meta` and `links` of an order list; `links.next` carries the keyset cursor. */
function listPage(url: string, result: OrderListPage, perPage: number) {
  const u = new URL(url, 'http://x');
  u.searchParams.delete('cursor');
  const { meta, links } = pageOf(`${u.pathname}${u.search}`, result.page, perPage, result.total);
  u.searchParams.delete('page');
  if (result.nextCursor) u.searchParams.set('cursor', result.nextCursor);
  links.next = result.nextCursor ? `${u.pathname}${u.search}` : null;
  return { meta, links };
}

const dateOf = (value: string | undefined) => (value ? new Date(value) : undefined);

const transitionErrors = {
  409: errorEnvelope.describe(
    'CONFLICT: the order’s status does not allow this (`details.from`, `details.allowed`); or IDEMPOTENCY_KEY_IN_USE.',
  ),
};

/** Checkout, the customer's orders, and the order lifecycle; register under `/api/v1`. */
export function orderRoutes(
  deps: CheckoutDeps & LifecycleDeps & { metrics?: Pick<Metrics, 'ordersCreated'> },
): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/orders',
      {
        config: { permission: 'orders:write:own', idempotency: 'required' },
        schema: {
          operationId: 'createOrder',
          tags,
          summary: 'Place an order',
          description:
            'Checkout in one transaction: validates the lines (variants of active products, one currency per order; two lines of one variant are added together), snapshots prices, computes totals (flat shipping by destination, free from a threshold; tax by destination country on subtotal + shipping), reserves the stock and publishes `order.created`. The order awaits payment for `ORDER_HOLD_MINUTES` (see `hold_expires_at`); unpaid after that it is cancelled and its stock released. Needs an `Idempotency-Key`: a retry with the same key returns the first answer, byte for byte, and never places a second order.',
          body: createOrderBody,
          response: {
            201: orderEnvelope,
            409: errorEnvelope.describe(
              'OUT_OF_STOCK: `details.items` names every short SKU with what is available (nothing was reserved); or IDEMPOTENCY_KEY_IN_USE.',
            ),
          },
        },
      },
      async (request, reply) => {
        const { items, email, shipping_address: address } = request.body;
        let currency: string | undefined;
        const body = await respondInTransaction(request, contextOf(request), 201, async (tx) => {
          const detail = await placeOrder(tx, deps, {
            items: items.map((i) => ({ variantId: i.variant_id, quantity: i.quantity })),
            email,
            shippingAddress: address,
          });
          // Set before the answer is stored, so replays carry it too.
          void reply.header('location', `/api/v1/orders/${detail.order.id}`);
          currency = detail.order.currency;
          return { request_id: request.id, data: toOrderDetailDto(detail) };
        }).catch((error: unknown) => {
          void reply.removeHeader('location');
          throw error;
        });
        // Committed (a replayed answer placed nothing and is not counted).
        if (currency) deps.metrics?.ordersCreated.inc({ currency });
        return reply.code(201).send(body);
      },
    );

    app.get(
      '/orders',
      {
        config: { permission: 'orders:read:own' },
        schema: {
          operationId: 'listMyOrders',
          tags,
          summary: 'List your orders',
          description:
            'The signed-in customer’s orders, newest first, filtered by status and date. Staff list every order at `GET /admin/orders`.',
          querystring: myOrdersQuery,
          response: { 200: orderList },
        },
      },
      async (request) => {
        const q = request.query;
        const result = await listOrders(contextOf(request), {
          userId: request.actor!.id,
          statuses: q.status,
          createdFrom: dateOf(q.created_from),
          createdTo: dateOf(q.created_to),
          page: q.page,
          perPage: q.per_page,
          cursor: q.cursor,
        });
        return {
          request_id: request.id,
          data: result.rows.map(toOrderDto),
          ...listPage(request.url, result, q.per_page),
        };
      },
    );

    app.get(
      '/admin/orders',
      {
        config: { permission: 'orders:read' },
        schema: {
          operationId: 'listOrders',
          tags,
          summary: 'List all orders (admin)',
          description:
            'Every order, newest first. `q` finds an order number or e-mail addresses starting with the text; filter by customer, status and date.',
          querystring: adminOrdersQuery,
          response: { 200: orderList },
        },
      },
      async (request) => {
        const q = request.query;
        const result = await listOrders(contextOf(request), {
          userId: q.customer,
          statuses: q.status,
          createdFrom: dateOf(q.created_from),
          createdTo: dateOf(q.created_to),
          q: q.q,
          page: q.page,
          perPage: q.per_page,
          cursor: q.cursor,
        });
        return {
          request_id: request.id,
          data: result.rows.map(toOrderDto),
          ...listPage(request.url, result, q.per_page),
        };
      },
    );

    app.get(
      '/orders/:id',
      {
        config: { permission: 'authenticated', httpCache: 'private' },
        schema: {
          operationId: 'getOrder',
          tags,
          summary: 'Get an order',
          description:
            'One order with its lines, totals and status history. Customers see their own orders (`orders:read:own`), staff any (`orders:read`); any other order answers 404.',
          params: orderIdParams,
          response: { 200: orderEnvelope },
        },
      },
      async (request) => {
        const cached = await cachedOrder(contextOf(request), request.params.id);
        authorizeOrder(request.actor, cached, 'read');
        return { request_id: request.id, data: cached.order };
      },
    );

    app.post(
      '/orders/:id/cancel',
      {
        config: { permission: 'authenticated', idempotency: 'optional' },
        schema: {
          operationId: 'cancelOrder',
          tags,
          summary: 'Cancel an unpaid order',
          description:
            'Cancels an order that awaits payment and releases its stock; publishes `order.cancelled`. The customer may cancel their own order (`orders:write:own`), staff any (`orders:write`). A paid order is refunded instead (409).',
          params: orderIdParams,
          body: cancelOrderBody,
          response: { 200: orderEnvelope, ...transitionErrors },
        },
      },
      async (request, reply) => {
        const body = await respondInTransaction(request, contextOf(request), 200, async (tx) => ({
          request_id: request.id,
          data: toOrderDetailDto(await cancelOrder(tx, deps, request.params.id, request.body ?? {})),
        }));
        return reply.code(200).send(body);
      },
    );

    app.post(
      '/orders/:id/fulfill',
      {
        config: { permission: 'orders:write', idempotency: 'optional' },
        schema: {
          operationId: 'fulfillOrder',
          tags,
          summary: 'Mark a paid order fulfilled (admin)',
          description:
            'The order is packed and ready to ship: paid → fulfilled. Publishes `order.fulfilled`.',
          params: orderIdParams,
          body: noteBody,
          response: { 200: orderEnvelope, ...transitionErrors },
        },
      },
      async (request, reply) => {
        const body = await respondInTransaction(request, contextOf(request), 200, async (tx) => ({
          request_id: request.id,
          data: toOrderDetailDto(
            await advanceOrder(tx, deps, request.params.id, { to: 'fulfilled', note: request.body?.note }),
          ),
        }));
        return reply.code(200).send(body);
      },
    );

    app.post(
      '/orders/:id/ship',
      {
        config: { permission: 'orders:write', idempotency: 'optional' },
        schema: {
          operationId: 'shipOrder',
          tags,
          summary: 'Ship an order (admin)',
          description:
            'fulfilled → shipped, with the tracking number the customer’s shipping e-mail carries. Publishes `order.shipped`.',
          params: orderIdParams,
          body: shipOrderBody,
          response: { 200: orderEnvelope, ...transitionErrors },
        },
      },
      async (request, reply) => {
        const { tracking_number: trackingNumber, carrier, note } = request.body;
        const body = await respondInTransaction(request, contextOf(request), 200, async (tx) => ({
          request_id: request.id,
          data: toOrderDetailDto(
            await advanceOrder(tx, deps, request.params.id, { to: 'shipped', trackingNumber, carrier, note }),
          ),
        }));
        return reply.code(200).send(body);
      },
    );

    app.post(
      '/orders/:id/deliver',
      {
        config: { permission: 'orders:write', idempotency: 'optional' },
        schema: {
          operationId: 'deliverOrder',
          tags,
          summary: 'Mark a shipped order delivered (admin)',
          description: 'shipped → delivered. Publishes `order.delivered`.',
          params: orderIdParams,
          body: noteBody,
          response: { 200: orderEnvelope, ...transitionErrors },
        },
      },
      async (request, reply) => {
        const body = await respondInTransaction(request, contextOf(request), 200, async (tx) => ({
          request_id: request.id,
          data: toOrderDetailDto(
            await advanceOrder(tx, deps, request.params.id, { to: 'delivered', note: request.body?.note }),
          ),
        }));
        return reply.code(200).send(body);
      },
    );
  };
}
