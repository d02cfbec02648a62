import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { contextOf } from '../../platform/http/server.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Inventory } from '../inventory/index.js';
import { overviewResponse } from './http-schemas.js';
import { shopOverview } from './overview.js';

/** The admin dashboard's first page: the shop's vital numbers in one request. */
export function overviewRoutes(deps: { jobs: Jobs; inventory: Inventory }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/admin/overview',
      {
        config: { permission: 'orders:read' },
        schema: {
          operationId: 'getShopOverview',
          tags: ['reports'],
          summary: 'Shop overview',
          description:
            'Orders and revenue today and per UTC day for the last 30 days, sign-ups, failed payments, low-stock variants and dead letters awaiting replay.',
          response: { 200: overviewResponse },
        },
      },
      async (request) => {
        const o = await shopOverview(contextOf(request), deps);
        return {
          request_id: request.id,
          data: {
            today: o.sales.at(-1)!,
            days: o.sales,
            signups: { today: o.signups.today, last_30_days: o.signups.last30Days },
            failed_payments: { today: o.failedPayments.today, last_30_days: o.failedPayments.last30Days },
            low_stock: {
              total: o.lowStock.total,
              variants: o.lowStock.variants.map((v) => ({
                variant_id: v.variantId,
                sku: v.sku,
                available: v.available,
                threshold: v.threshold,
              })),
            },
            dead_letters: o.deadLetters,
          },
        };
      },
    );
  };
}
