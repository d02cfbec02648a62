import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Context } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { errorEnvelope, pageOf } from '../../platform/http/envelope.js';
import { contextOf, readContextOf } from '../../platform/http/server.js';
import { RenderedAnswers } from '../../platform/http/rendered.js';
import type { Inventory } from '../inventory/index.js';
import {
  adminProductSearchQuery,
  attributeFilters,
  createProductBody,
  productEnvelope,
  productIdParams,
  productList,
  productRefParams,
  productSearchQuery,
  updateProductBody,
  updateVariantBody,
  variantInput,
  variantParams,
  type ProductDto,
} from './http-schemas.js';
import { storefrontProduct, storefrontSearch, type StorefrontPage } from './cache.js';
import { findProduct, productViews, stockSignature, withStock } from './product-views.js';
import { createProduct, setProductStatus, updateProduct } from './products.js';
import { searchProducts, type SearchResult } from './search.js';
import { addVariant, archiveVariant, updateVariant } from './variants.js';

const tags = ['catalog'];
const conflict = errorEnvelope.describe(
  'A variant with this SKU, or a product with this handle, exists already.',
);

/** The admin view of a product (any status, archived variants too); the storefront's is cached. */
async function productView(ctx: Context, inventory: Inventory, ref: string): Promise<ProductDto> {
  const row = await findProduct(ctx, ref);
  if (!row) throw notFound('Product');
  const [view] = await productViews(ctx, inventory, [row], { admin: true });
  return view!;
}

/** `meta` and `links` of a product list; `links.next` carries a keyset cursor where the sort allows one. */
function listPage(url: string, result: Omit<SearchResult, 'rows'>, perPage: number) {
  const u = new URL(url, 'http://x');
  u.searchParams.delete('cursor');
  const { meta, links } = pageOf(`${u.pathname}${u.search}`, result.page, perPage, result.total);
  if (result.sort !== 'relevance') {
    u.searchParams.delete('page');
    if (result.nextCursor) u.searchParams.set('cursor', result.nextCursor);
    links.next = result.nextCursor ? `${u.pathname}${u.search}` : null;
  }
  return { meta, links };
}

/** Storefront reads (public) and product administration (`products:write`). */
export function productRoutes(inventory: Inventory): FastifyPluginAsyncZod {
  // A cached page or product with the same stock is the same answer: serialised and tagged once.
  const listAnswers = new RenderedAnswers<StorefrontPage>();
  const productAnswers = new RenderedAnswers<ProductDto>();
  return async (app) => {
    app.get(
      '/products',
      {
        config: { httpCache: 'public' },
        schema: {
          operationId: 'listProducts',
          tags,
          summary: 'Search products',
          description:
            'Active products with their live variants and stock. `q` searches title (strongest), attribute values and description, ranked, tolerating one typo per word. Filter by category (with its subcategories), price range (of the lowest variant price), stock, and attributes (`attr.color=Blue`). Sorts `relevance` (default with `q`), `newest` (default otherwise), `price`, `-price`. Page with `page`/`per_page`, or follow `links.next`, which carries a keyset `cursor` for the newest and price sorts so deep pages stay fast.',
          querystring: productSearchQuery,
          response: { 200: productList },
        },
      },
      async (request, reply) => {
        const q = request.query;
        const {
          value: page,
          available,
          cached,
        } = await storefrontSearch(contextOf(request), readContextOf(request), inventory, {
          q: q.q,
          category: q.category,
          minPrice: q.min_price,
          maxPrice: q.max_price,
          inStock: q.in_stock,
          attributes: attributeFilters(q),
          sort: q.sort,
          page: q.page,
          perPage: q.per_page,
          cursor: q.cursor,
          storefront: true,
        });
        const answer = () => ({
          request_id: request.id,
          data: withStock(page.views, available),
          ...listPage(request.url, page, q.per_page),
        });
        if (!cached) return answer();
        const variant = () => `${request.url} ${stockSignature(page.views, available)}`;
        return listAnswers.send(request, reply, page, available, variant, answer);
      },
    );

    app.get(
      '/products/:id',
      {
        config: { httpCache: 'public' },
        schema: {
          operationId: 'getProduct',
          tags,
          summary: 'Get a product',
          description: 'One active product by id or handle, with its live variants and their stock.',
          params: productRefParams,
          response: { 200: productEnvelope },
        },
      },
      async (request, reply) => {
        const {
          value: view,
          available,
          cached,
        } = await storefrontProduct(contextOf(request), readContextOf(request), inventory, request.params.id);
        const answer = () => ({ request_id: request.id, data: withStock([view], available)[0]! });
        if (!cached) return answer();
        const variant = () => stockSignature([view], available);
        return productAnswers.send(request, reply, view, available, variant, answer);
      },
    );

    app.get(
      '/admin/products',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'adminListProducts',
          tags,
          summary: 'List products (admin)',
          description:
            'Every product whatever its status (filter with `status`), including archived variants, with the same search, filters and sorts as the storefront list; paged with `page`/`per_page`.',
          querystring: adminProductSearchQuery,
          response: { 200: productList },
        },
      },
      async (request) => {
        const q = request.query;
        const ctx = contextOf(request);
        const result = await searchProducts(ctx, inventory, {
          q: q.q,
          category: q.category,
          minPrice: q.min_price,
          maxPrice: q.max_price,
          inStock: q.in_stock,
          attributes: attributeFilters(q),
          sort: q.sort,
          page: q.page,
          perPage: q.per_page,
          status: q.status,
          storefront: false,
        });
        return {
          request_id: request.id,
          data: await productViews(ctx, inventory, result.rows, { admin: true }),
          ...pageOf(request.url, q.page, q.per_page, result.total),
        };
      },
    );

    app.get(
      '/admin/products/:id',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'adminGetProduct',
          tags,
          summary: 'Get a product (admin)',
          description: 'One product by id or handle, whatever its status, with archived variants.',
          params: productRefParams,
          response: { 200: productEnvelope },
        },
      },
      async (request) => ({
        request_id: request.id,
        data: await productView(contextOf(request), inventory, request.params.id),
      }),
    );

    app.post(
      '/products',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'createProduct',
          tags,
          summary: 'Create a product (admin)',
          description:
            'A product with its variants and their initial stock, in one step. Without `handle`, one is made from the title (unique). A SKU or handle in use answers 409 naming the field.',
          body: createProductBody,
          response: { 201: productEnvelope, 409: conflict },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        const id = await createProduct(ctx, inventory, request.body);
        return reply.code(201).send({ request_id: request.id, data: await productView(ctx, inventory, id) });
      },
    );

    app.patch(
      '/products/:id',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'updateProduct',
          tags,
          summary: 'Update a product (admin)',
          description:
            'Changes title, handle, description, status, categories, images or attributes; lists and attributes are replaced as a whole.',
          params: productIdParams,
          body: updateProductBody,
          response: { 200: productEnvelope, 409: conflict },
        },
      },
      async (request) => {
        const ctx = contextOf(request);
        await updateProduct(ctx, request.params.id, request.body);
        return { request_id: request.id, data: await productView(ctx, inventory, request.params.id) };
      },
    );

    app.post(
      '/products/:id/archive',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'archiveProduct',
          tags,
          summary: 'Archive a product (admin)',
          description:
            'Takes the product off the storefront; it stays for order history and can be made active again with PATCH. Audited.',
          params: productIdParams,
          response: { 200: productEnvelope },
        },
      },
      async (request) => {
        const ctx = contextOf(request);
        await setProductStatus(ctx, request.params.id, 'archived');
        return { request_id: request.id, data: await productView(ctx, inventory, request.params.id) };
      },
    );

    app.post(
      '/products/:id/variants',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'addVariant',
          tags,
          summary: 'Add a variant (admin)',
          description:
            'Adds a variant with its initial stock. Its currency must match the product’s other variants, and its options must differ from theirs. Answers the whole product.',
          params: productIdParams,
          body: variantInput,
          response: { 201: productEnvelope, 409: conflict },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        await addVariant(ctx, inventory, request.params.id, request.body);
        return reply
          .code(201)
          .send({ request_id: request.id, data: await productView(ctx, inventory, request.params.id) });
      },
    );

    app.patch(
      '/products/:id/variants/:variant_id',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'updateVariant',
          tags,
          summary: 'Update a variant (admin)',
          description:
            'Changes SKU, title, options, price or weight. A price change is recorded in the audit log (`catalog.price_changed`). Answers the whole product.',
          params: variantParams,
          body: updateVariantBody,
          response: { 200: productEnvelope, 409: conflict },
        },
      },
      async (request) => {
        const ctx = contextOf(request);
        await updateVariant(ctx, inventory, request.params.id, request.params.variant_id, request.body);
        return { request_id: request.id, data: await productView(ctx, inventory, request.params.id) };
      },
    );

    app.post(
      '/products/:id/variants/:variant_id/archive',
      {
        config: { permission: 'products:write' },
        schema: {
          operationId: 'archiveVariant',
          tags,
          summary: 'Archive a variant (admin)',
          description:
            'Hides the variant from the storefront; its stock and history stay. Answers the whole product.',
          params: variantParams,
          response: { 200: productEnvelope },
        },
      },
      async (request) => {
        const ctx = contextOf(request);
        await archiveVariant(ctx, request.params.id, request.params.variant_id);
        return { request_id: request.id, data: await productView(ctx, inventory, request.params.id) };
      },
    );
  };
}
