import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorEnvelope } from '../../platform/http/envelope.js';
import { contextOf, readContextOf } from '../../platform/http/server.js';
import { cachedCategoryTree } from './cache.js';
import { createCategory, deleteCategory, getCategory, updateCategory } from './categories.js';
import {
  categoryBody,
  categoryEnvelope,
  categoryIdParams,
  categoryTree as categoryTreeEnvelope,
  updateCategoryBody,
} from './http-schemas.js';

const tags = ['catalog'];

export const categoryRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/categories',
    {
      config: { httpCache: 'public' },
      schema: {
        operationId: 'listCategories',
        tags,
        summary: 'The category tree',
        description: 'Every category, roots first, each with its subcategories nested in `children`.',
        response: { 200: categoryTreeEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: await cachedCategoryTree(contextOf(request), readContextOf(request)),
    }),
  );

  app.post(
    '/categories',
    {
      config: { permission: 'products:write' },
      schema: {
        operationId: 'createCategory',
        tags,
        summary: 'Create a category (admin)',
        description:
          'A root category, or a subcategory with `parent_id`. Without `handle`, one is made from the name.',
        body: categoryBody,
        response: { 201: categoryEnvelope, 409: errorEnvelope.describe('The handle is in use.') },
      },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      const id = await createCategory(ctx, request.body);
      return reply.code(201).send({ request_id: request.id, data: await getCategory(ctx, id) });
    },
  );

  app.patch(
    '/categories/:id',
    {
      config: { permission: 'products:write' },
      schema: {
        operationId: 'updateCategory',
        tags,
        summary: 'Update a category (admin)',
        description:
          'Rename, re-handle, reorder or move it (`parent_id`; null moves it to the root). A category cannot move below itself.',
        params: categoryIdParams,
        body: updateCategoryBody,
        response: { 200: categoryEnvelope, 409: errorEnvelope.describe('The handle is in use.') },
      },
    },
    async (request) => {
      const ctx = contextOf(request);
      await updateCategory(ctx, request.params.id, request.body);
      return { request_id: request.id, data: await getCategory(ctx, request.params.id) };
    },
  );

  app.delete(
    '/categories/:id',
    {
      config: { permission: 'products:write' },
      schema: {
        operationId: 'deleteCategory',
        tags,
        summary: 'Delete a category (admin)',
        description:
          'Deletes a category that has no subcategories; its products stay, without it. Answers 204.',
        params: categoryIdParams,
        response: {
          204: z.null().describe('Deleted.'),
          409: errorEnvelope.describe('The category has subcategories.'),
        },
      },
    },
    async (request, reply) => {
      await deleteCategory(contextOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
