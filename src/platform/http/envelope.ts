import { z } from 'zod';
import { errorCodes } from '../errors.js';

/** Response shapes shared by every route (ARCHITECTURE.md, API conventions). */

export const requestIdSchema = z
  .string()
  .regex(/^[\w.:-]{1,128}$/)
  .max(128)
  .meta({ description: 'Echo of the X-Request-Id header.', example: '0b6a8a9e-52f3-4c9f-9f0e-1f9d0a6c1d2e' });

export const errorEnvelope = z
  .object({
    request_id: requestIdSchema,
    trace_id: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .max(32)
      .optional()
      .meta({
        description: 'The OpenTelemetry trace of this request, when the server exports traces.',
        example: '4bf92f3577b34da6a3ce929d0e0e4736',
      }),
    error: z.object({
      code: z.enum(errorCodes),
      message: z.string().max(1000),
      details: z
        .union([
          z.array(z.object({ field: z.string().max(200), message: z.string().max(500) })).max(100),
          z.record(z.string().max(100), z.unknown()),
        ])
        .optional(),
    }),
  })
  .meta({ id: 'ErrorEnvelope', description: 'Every error answer, whatever the status.' });

export function envelope<T extends z.ZodType>(data: T) {
  return z.object({ request_id: requestIdSchema, data });
}

export const paginationMeta = z
  .object({
    page: z.int().min(1).max(1_000_000),
    per_page: z.int().min(1).max(100),
    total: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
    total_pages: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  })
  .meta({
    id: 'PaginationMeta',
    description: 'Where this page sits: page, page size and totals.',
  });

export const paginationLinks = z
  .object({
    first: z.string().max(2048),
    prev: z.string().max(2048).nullable(),
    next: z.string().max(2048).nullable(),
    last: z.string().max(2048),
  })
  .meta({ id: 'PaginationLinks', description: 'Links to the neighbouring pages of a list.' });

export function listEnvelope<T extends z.ZodType>(item: T) {
  return z.object({
    request_id: requestIdSchema,
    data: z.array(item).max(100),
    meta: paginationMeta,
    links: paginationLinks,
  });
}

export const paginationQuery = {
  page: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1)
    .meta({ description: 'Page number, from 1.' }),
  per_page: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .meta({ description: 'Items per page (at most 100).' }),
};

/** Builds `meta` and `links` of a page; links keep the request's other query parameters. */
export function pageOf(url: string, page: number, perPage: number, total: number) {
  const totalPages = Math.ceil(total / perPage);
  const link = (p: number) => {
    const u = new URL(url, 'http://x');
    u.searchParams.set('page', String(p));
    u.searchParams.set('per_page', String(perPage));
    return `${u.pathname}${u.search}`;
  };
  return {
    meta: { page, per_page: perPage, total, total_pages: totalPages },
    links: {
      first: link(1),
      prev: page > 1 ? link(Math.min(page - 1, Math.max(totalPages, 1))) : null,
      next: page < totalPages ? link(page + 1) : null,
      last: link(Math.max(totalPages, 1)),
    },
  };
}
