import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { contextOf } from '../../platform/http/server.js';
import {
  shippingRatesBody,
  shippingRatesEnvelope,
  taxRatesBody,
  taxRatesEnvelope,
  toShippingRateDto,
  toTaxRateDto,
} from './http-schemas.js';
import { listShippingRates, listTaxRates, replaceShippingRates, replaceTaxRates } from './rates.js';

const tags = ['settings'];

/** The money settings of checkout (the dashboard's Settings page); register under `/api/v1`. */
export const orderSettingsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/admin/settings/shipping-rates',
    {
      config: { permission: 'orders:read' },
      schema: {
        operationId: 'getShippingRates',
        tags,
        summary: 'Shipping rates (admin)',
        description:
          'The flat shipping price per destination country and currency, with free-shipping thresholds.',
        response: { 200: shippingRatesEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: { rates: (await listShippingRates(contextOf(request))).map(toShippingRateDto) },
    }),
  );

  app.put(
    '/admin/settings/shipping-rates',
    {
      config: { permission: 'orders:write' },
      schema: {
        operationId: 'putShippingRates',
        tags,
        summary: 'Replace the shipping rates (admin)',
        description:
          'Replaces the whole table; the next order is priced with it, placed orders keep their shipping. Audited.',
        body: shippingRatesBody,
        response: { 200: shippingRatesEnvelope },
      },
    },
    async (request) => {
      const rates = await replaceShippingRates(
        contextOf(request),
        request.body.rates.map((r) => ({
          country: r.country,
          currency: r.currency,
          amount: r.amount,
          freeOver: r.free_over,
        })),
      );
      return { request_id: request.id, data: { rates: rates.map(toShippingRateDto) } };
    },
  );

  app.get(
    '/admin/settings/tax-rates',
    {
      config: { permission: 'orders:read' },
      schema: {
        operationId: 'getTaxRates',
        tags,
        summary: 'Tax rates (admin)',
        description: 'Tax per destination country in basis points; `*` applies to every other country.',
        response: { 200: taxRatesEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: { rates: (await listTaxRates(contextOf(request))).map(toTaxRateDto) },
    }),
  );

  app.put(
    '/admin/settings/tax-rates',
    {
      config: { permission: 'orders:write' },
      schema: {
        operationId: 'putTaxRates',
        tags,
        summary: 'Replace the tax rates (admin)',
        description:
          'Replaces the whole table (it must include `*`); the next order is taxed with it, placed orders keep their tax. Audited.',
        body: taxRatesBody,
        response: { 200: taxRatesEnvelope },
      },
    },
    async (request) => {
      const rates = await replaceTaxRates(
        contextOf(request),
        request.body.rates.map((r) => ({ country: r.country, rateBasisPoints: r.rate_basis_points })),
      );
      return { request_id: request.id, data: { rates: rates.map(toTaxRateDto) } };
    },
  );
};
