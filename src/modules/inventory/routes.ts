import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope, pageOf } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import {
  adjustmentBody,
  movementList,
  movementQuery,
  stockEnvelope,
  stockList,
  stockQuery,
  toMovementDto,
  toStockDto,
  variantIdParams,
} from './http-schemas.js';
import type { Inventory } from './module.js';
import { getStock, listMovements, listStock } from './stock-levels.js';

const tags = ['inventory'];

/** Admin stock routes; register under `/api/v1`. */
export function inventoryRoutes(inventory: Inventory): FastifyPluginAsyncZod {
  const threshold = inventory.lowStockThreshold;
  return async (app) => {
    app.post(
      '/admin/inventory/:variant_id/adjustments',
      {
        config: { permission: 'inventory:write' },
        schema: {
          operationId: 'adjustStock',
          tags,
          summary: 'Adjust stock (admin)',
          description:
            'Adds or removes units on hand (stock count, damage, delivery) with a reason. Available stock never goes below zero: units reserved by orders cannot be removed. Audited.',
          params: variantIdParams,
          body: adjustmentBody,
          response: {
            201: stockEnvelope,
            409: errorEnvelope.describe('The adjustment would make available stock negative.'),
          },
        },
      },
      async (request, reply) => {
        const row = await inventory.adjustStock(contextOf(request), request.params.variant_id, request.body);
        return reply.code(201).send({ request_id: request.id, data: toStockDto(row, threshold) });
      },
    );

    app.get(
      '/admin/inventory',
      {
        config: { permission: 'inventory:read' },
        schema: {
          operationId: 'listStock',
          tags,
          summary: 'List stock levels (admin)',
          description:
            'Stock per variant, by SKU; `low_stock=true` lists the variants below their threshold, most urgent first.',
          querystring: stockQuery,
          response: { 200: stockList },
        },
      },
      async (request) => {
        const q = request.query;
        const { rows, total } = await listStock(
          contextOf(request),
          { variantId: q.variant_id, sku: q.sku, lowStock: q.low_stock, page: q.page, perPage: q.per_page },
          threshold,
        );
        return {
          request_id: request.id,
          data: rows.map((row) => toStockDto(row, threshold)),
          ...pageOf(request.url, q.page, q.per_page, total),
        };
      },
    );

    app.get(
      '/admin/inventory/:variant_id',
      {
        config: { permission: 'inventory:read' },
        schema: {
          operationId: 'getStock',
          tags,
          summary: 'Get the stock of a variant (admin)',
          description: 'On hand, reserved and available units of one variant.',
          params: variantIdParams,
          response: { 200: stockEnvelope },
        },
      },
      async (request) => {
        const row = await getStock(contextOf(request), request.params.variant_id);
        return { request_id: request.id, data: toStockDto(row, threshold) };
      },
    );

    app.get(
      '/admin/inventory/:variant_id/movements',
      {
        config: { permission: 'inventory:read' },
        schema: {
          operationId: 'listStockMovements',
          tags,
          summary: 'List stock movements of a variant (admin)',
          description:
            'Every change of the variant’s stock, newest first: adjustments with their reason, reservations, releases and sales with the order behind them.',
          params: variantIdParams,
          querystring: movementQuery,
          response: { 200: movementList },
        },
      },
      async (request) => {
        const q = request.query;
        const { rows, total } = await listMovements(contextOf(request), request.params.variant_id, {
          page: q.page,
          perPage: q.per_page,
        });
        return {
          request_id: request.id,
          data: rows.map(toMovementDto),
          ...pageOf(request.url, q.page, q.per_page, total),
        };
      },
    );
  };
}
