import { z } from 'zod';
import { envelope, listEnvelope, paginationQuery } from '../../platform/http/envelope.js';
import { isCountryCode } from './countries.js';
import type { OrderDetail } from './queries.js';
import type { ShippingRateSetting, TaxRateSetting } from './rates.js';
import type { OrderRecord, StatusChange } from './records.js';
import { orderStatuses } from './status.js';

// ---- building blocks ----

const money = z.int().min(0).max(2_147_483_647);
const timestamp = z.iso.datetime().max(35);
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .length(3)
  .meta({ description: 'ISO 4217 currency code.', example: 'USD' });
const moneySchema = z.object({ amount: money, currency }).meta({
  id: 'OrderMoney',
  description: 'An amount in minor units (cents) of its currency: 1999 USD = 19.99 USD.',
});
const orderNumber = z
  .string()
  .regex(/^BZ-\d{6,16}$/)
  .max(19)
  .meta({ description: 'The human-facing order number.', example: 'BZ-100042' });
const orderStatus = z.enum(orderStatuses).meta({
  description:
    'pending_payment → paid → fulfilled → shipped → delivered; or cancelled (unpaid only); refunded / partially_refunded after a refund.',
});

const country = z
  .string()
  .trim()
  .toUpperCase()
  .max(2)
  .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code, e.g. DE')
  .refine(isCountryCode, 'is not an ISO 3166-1 alpha-2 country code')
  .meta({ description: 'ISO 3166-1 alpha-2 country code.', example: 'DE' });
/** A country or `*`, the fallback for every country without a rate of its own. */
const rateCountry = z.union([z.literal('*'), country]).meta({
  description: 'ISO 3166-1 alpha-2 country code, or `*` for every country without a rate of its own.',
  example: 'DE',
});

const text = (max: number) => z.string().trim().min(1).max(max);
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => v || undefined);

export const orderIdParams = z.strictObject({ id: z.uuid().meta({ description: 'The order.' }) });

// ---- requests ----

export const shippingAddressInput = z
  .strictObject({
    name: text(200).meta({ example: 'Ada Lovelace' }),
    line1: text(200).meta({ example: 'Marktstraße 1' }),
    line2: optionalText(200),
    city: text(100).meta({ example: 'Berlin' }),
    region: optionalText(100),
    postal_code: text(20).meta({ example: '10115' }),
    country,
  })
  .meta({ id: 'NewShippingAddress', description: 'Where to ship an order.' });

export const createOrderBody = z
  .strictObject({
    items: z
      .array(
        z.strictObject({
          variant_id: z.uuid().meta({ description: 'A variant of an active product.' }),
          quantity: z.int().min(1).max(1000),
        }),
      )
      .min(1)
      .max(100)
      .meta({ description: 'What to buy. Two lines of the same variant are added together.' }),
    email: z.email().max(254).meta({
      description: 'Where order mail (confirmation, receipt, shipping) goes.',
      example: 'ada@example.com',
    }),
    shipping_address: shippingAddressInput,
  })
  .meta({
    id: 'CreateOrderRequest',
    description: 'A checkout: the lines to buy, the contact e-mail and the shipping address.',
  });

export const cancelOrderBody = z
  .strictObject({
    reason: z.string().trim().max(500).optional().meta({ description: 'Kept in the status history.' }),
  })
  // A POST without a body arrives as null.
  .nullish();

export const noteBody = z
  .strictObject({
    note: z.string().trim().max(500).optional().meta({ description: 'Kept in the status history.' }),
  })
  .nullish();

export const shipOrderBody = z
  .strictObject({
    tracking_number: text(100)
      .regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'printable ASCII')
      .meta({ example: '1Z999AA10123456784' }),
    carrier: optionalText(100).meta({ example: 'UPS' }),
    note: z.string().trim().max(500).optional().meta({ description: 'Kept in the status history.' }),
  })
  .meta({ id: 'ShipOrderRequest', description: 'The carrier and tracking number of a shipment.' });

const statusFilter = z
  .string()
  .max(200)
  .regex(/^[a-z_]+(,[a-z_]+)*$/)
  .transform((v) => v.split(','))
  .pipe(z.array(z.enum(orderStatuses)).max(orderStatuses.length))
  .optional()
  .meta({ description: 'Only orders in these statuses (comma-separated).', example: 'paid,fulfilled' });

const listFields = {
  ...paginationQuery,
  status: statusFilter,
  created_from: z.iso
    .datetime({ offset: true })
    .optional()
    .meta({ description: 'Orders placed at or after this time (ISO 8601).' }),
  created_to: z.iso
    .datetime({ offset: true })
    .optional()
    .meta({ description: 'Orders placed at or before this time (ISO 8601).' }),
  cursor: z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .meta({ description: 'Opaque keyset cursor from `links.next`; deep pages stay as fast as the first.' }),
};

export const myOrdersQuery = z.strictObject(listFields);

export const adminOrdersQuery = z.strictObject({
  ...listFields,
  q: z
    .string()
    .trim()
    .max(254)
    .optional()
    .meta({ description: 'An order number (`BZ-100042`) or the start of the e-mail address.' }),
  customer: z.uuid().optional().meta({ description: 'Only orders of this customer (user id).' }),
});

export const shippingRatesBody = z
  .strictObject({
    rates: z
      .array(
        z.strictObject({
          country: rateCountry,
          currency,
          amount: money.max(100_000_000).meta({ description: 'Flat shipping price in minor units.' }),
          free_over: money
            .max(100_000_000)
            .nullable()
            .meta({ description: 'Orders whose subtotal reaches this ship free; null: never free.' }),
        }),
      )
      .max(500),
  })
  .meta({
    id: 'ShippingRatesRequest',
    description:
      'The complete table. An order ships at the rate of its destination country in its currency, else the `*` rate of its currency; with neither, the shop does not ship there.',
  });

export const taxRatesBody = z
  .strictObject({
    rates: z
      .array(
        z.strictObject({
          country: rateCountry,
          rate_basis_points: z
            .int()
            .min(0)
            .max(10_000)
            .meta({ description: 'Tax in basis points of subtotal + shipping: 1900 = 19 %.', example: 1900 }),
        }),
      )
      .min(1)
      .max(500),
  })
  .meta({
    id: 'TaxRatesRequest',
    description: 'The complete table; it must contain the `*` rate, which applies to every other country.',
  });

// ---- responses ----

const shippingAddressSchema = z
  .object({
    name: z.string().max(200),
    line1: z.string().max(200),
    line2: z.string().max(200).optional(),
    city: z.string().max(100),
    region: z.string().max(100).optional(),
    postal_code: z.string().max(20),
    country: z
      .string()
      .max(2)
      .regex(/^[A-Z]{2}$/),
  })
  .meta({ id: 'ShippingAddress', description: 'The address an order ships to.' });

const orderItemSchema = z
  .object({
    variant_id: z.uuid(),
    sku: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    title: z.string().max(500).meta({ description: 'Product and variant name at the time of the order.' }),
    options: z.record(z.string().max(100), z.string().max(200)),
    quantity: z.int().min(1).max(2_147_483_647),
    unit_price: moneySchema,
    line_total: moneySchema,
  })
  .meta({ id: 'OrderItem', description: 'A line with the price it was bought at.' });

const statusChangeSchema = z
  .object({
    from: orderStatus.nullable().meta({ description: 'null for the order’s creation.' }),
    to: orderStatus,
    at: timestamp,
    actor_type: z.enum(['customer', 'admin', 'client', 'system']),
    note: z.string().max(500).nullable(),
  })
  .meta({
    id: 'OrderStatusChange',
    description: 'One step in an order’s history: from which status to which, when, by whom and why.',
  });

export const orderSchema = z
  .object({
    id: z.uuid(),
    number: orderNumber,
    status: orderStatus,
    user_id: z.uuid().meta({ description: 'The customer.' }),
    email: z.email().max(254),
    items: z.array(orderItemSchema).max(100),
    totals: z.object({
      subtotal: money,
      shipping: money,
      tax: money,
      total: money,
      refunded: money,
      currency,
    }),
    shipping_address: shippingAddressSchema,
    tracking_number: z
      .string()
      .max(100)
      .regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/)
      .nullable(),
    carrier: z.string().max(100).nullable(),
    hold_expires_at: timestamp.nullable().meta({
      description: 'While unpaid: when the order is cancelled and its stock released unless paid.',
    }),
    paid_at: timestamp.nullable(),
    cancelled_at: timestamp.nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Order', description: 'An order with its lines, totals, payment state and current status.' });

export const orderDetailSchema = orderSchema
  .extend({ status_history: z.array(statusChangeSchema).max(1000) })
  .meta({ id: 'OrderDetail', description: 'An order with every status change, oldest first.' });

export const orderEnvelope = envelope(orderDetailSchema);
export type OrderDetailDto = z.infer<typeof orderDetailSchema>;
export const orderList = listEnvelope(orderSchema);

const rateCountryOut = z
  .string()
  .max(2)
  .regex(/^([A-Z]{2}|\*)$/);
const shippingRateSchema = z
  .object({
    country: rateCountryOut,
    currency,
    amount: money,
    free_over: money.nullable(),
  })
  .meta({
    id: 'ShippingRate',
    description: 'The shipping price for a country, with an optional free-shipping threshold.',
  });
const taxRateSchema = z
  .object({ country: rateCountryOut, rate_basis_points: z.int().min(0).max(10_000) })
  .meta({ id: 'TaxRate', description: 'A tax rate applied to orders shipping to a country.' });

export const shippingRatesEnvelope = envelope(z.object({ rates: z.array(shippingRateSchema).max(500) }));
export const taxRatesEnvelope = envelope(z.object({ rates: z.array(taxRateSchema).max(500) }));

// ---- mapping ----

type OrderDto = z.infer<typeof orderSchema>;

export function toOrderDto(o: OrderRecord): OrderDto {
  const price = (amount: number) => ({ amount, currency: o.currency });
  return {
    id: o.id,
    number: o.number,
    status: o.status,
    user_id: o.userId,
    email: o.email,
    items: o.items.map((i) => ({
      variant_id: i.variantId,
      sku: i.sku,
      title: i.title,
      options: i.options,
      quantity: i.quantity,
      unit_price: price(i.unitPrice),
      line_total: price(i.lineTotal),
    })),
    totals: {
      subtotal: o.subtotal,
      shipping: o.shippingTotal,
      tax: o.taxTotal,
      total: o.total,
      refunded: o.refundedTotal,
      currency: o.currency,
    },
    shipping_address: o.shippingAddress,
    tracking_number: o.trackingNumber,
    carrier: o.carrier,
    hold_expires_at: o.status === 'pending_payment' ? (o.holdExpiresAt?.toISOString() ?? null) : null,
    paid_at: o.paidAt?.toISOString() ?? null,
    cancelled_at: o.cancelledAt?.toISOString() ?? null,
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  };
}

function toStatusChangeDto(h: StatusChange): z.infer<typeof statusChangeSchema> {
  return {
    from: h.from,
    to: h.to,
    at: h.at.toISOString(),
    actor_type: h.actorType as z.infer<typeof statusChangeSchema>['actor_type'],
    note: h.note,
  };
}

export function toOrderDetailDto({ order, history }: OrderDetail): OrderDetailDto {
  return { ...toOrderDto(order), status_history: history.map(toStatusChangeDto) };
}

export const toShippingRateDto = (r: ShippingRateSetting) => ({
  country: r.country,
  currency: r.currency,
  amount: r.amount,
  free_over: r.freeOver,
});

export const toTaxRateDto = (r: TaxRateSetting) => ({
  country: r.country,
  rate_basis_points: r.rateBasisPoints,
});
