import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import { cachedPreferences, cachedProfile } from './cache.js';
import { assertCanReadUser } from './policy.js';
import {
  adminUpdateUserBody,
  exportEnvelope,
  preferencesEnvelope,
  preferencesSchema,
  toUserDto,
  updateMeBody,
  userEnvelope,
  userIdParams,
  userList,
  userSearchQuery,
} from './http-schemas.js';
import {
  adminUpdateUser,
  eraseUser,
  exportUserData,
  putPreferences,
  searchUsers,
  updateProfile,
} from './service.js';

const tags = ['users'];

export const usersRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/users/me',
    {
      config: { permission: 'profile:read', httpCache: 'private' },
      schema: {
        operationId: 'getMe',
        tags,
        summary: 'Your profile',
        description: 'The signed-in user’s profile.',
        response: { 200: userEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: await cachedProfile(contextOf(request), request.actor!.id),
    }),
  );

  app.patch(
    '/users/me',
    {
      config: { permission: 'profile:write' },
      schema: {
        operationId: 'updateMe',
        tags,
        summary: 'Update your profile',
        description:
          'Changes name or e-mail. Changing the e-mail marks it unverified. Role and status cannot be set here.',
        body: updateMeBody,
        response: { 200: userEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: toUserDto(await updateProfile(contextOf(request), request.actor!.id, request.body)),
    }),
  );

  app.get(
    '/users/me/preferences',
    {
      config: { permission: 'profile:read', httpCache: 'private' },
      schema: {
        operationId: 'getPreferences',
        tags,
        summary: 'Your preferences',
        description: 'Locale, time zone, currency and e-mail opt-ins.',
        response: { 200: preferencesEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: await cachedPreferences(contextOf(request), request.actor!.id),
    }),
  );

  app.put(
    '/users/me/preferences',
    {
      config: { permission: 'profile:write' },
      schema: {
        operationId: 'putPreferences',
        tags,
        summary: 'Replace your preferences',
        description: 'Replaces all preferences at once.',
        body: preferencesSchema,
        response: { 200: preferencesEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: await putPreferences(contextOf(request), request.actor!.id, request.body),
    }),
  );

  app.get(
    '/users/me/export',
    {
      config: { permission: 'profile:read' },
      schema: {
        operationId: 'exportMe',
        tags,
        summary: 'Export your data',
        description:
          'Everything Bazaar holds about you as one JSON document (right of access and portability).',
        response: { 200: exportEnvelope },
      },
    },
    async (request, reply) => {
      const data = await exportUserData(contextOf(request), request.actor!.id);
      void reply.header('Content-Disposition', 'attachment; filename="bazaar-export.json"');
      return { request_id: request.id, data: { ...data, user: toUserDto(data.user) } };
    },
  );

  app.delete(
    '/users/me',
    {
      config: { permission: 'profile:write' },
      schema: {
        operationId: 'eraseMe',
        tags,
        summary: 'Erase your account',
        description:
          'Removes or anonymises your personal data and ends every session. The audit trail is kept. Cannot be undone.',
        response: { 204: z.null().describe('Erased.') },
      },
    },
    async (request, reply) => {
      await eraseUser(contextOf(request), request.actor!.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users',
    {
      config: { permission: 'users:read' },
      schema: {
        operationId: 'listUsers',
        tags,
        summary: 'Search users (admin)',
        description: 'Search by e-mail or name, filter by role and status, sort and paginate.',
        querystring: userSearchQuery,
        response: { 200: userList },
      },
    },
    async (request) => {
      const q = request.query;
      const { rows, total } = await searchUsers(contextOf(request), {
        q: q.q,
        role: q.role,
        status: q.status,
        sort: q.sort,
        page: q.page,
        perPage: q.per_page,
      });
      return {
        request_id: request.id,
        data: rows.map(toUserDto),
        ...pageOf(request.url, q.page, q.per_page, total),
      };
    },
  );

  app.get(
    '/users/:id',
    {
      config: { permission: 'authenticated' },
      schema: {
        operationId: 'getUser',
        tags,
        summary: 'Get a user',
        description:
          'One user by id. Admins may read anyone; other users only themselves (anyone else is 404).',
        params: userIdParams,
        response: { 200: userEnvelope },
      },
    },
    async (request) => {
      assertCanReadUser(request.actor!, request.params.id);
      return { request_id: request.id, data: await cachedProfile(contextOf(request), request.params.id) };
    },
  );

  app.patch(
    '/users/:id',
    {
      config: { permission: 'users:write' },
      schema: {
        operationId: 'updateUser',
        tags,
        summary: 'Change a user (admin)',
        description:
          'Change name, role or status. Deactivation ends all the user’s sessions at once; every change is audited.',
        params: userIdParams,
        body: adminUpdateUserBody,
        response: { 200: userEnvelope },
      },
    },
    async (request) => ({
      request_id: request.id,
      data: toUserDto(await adminUpdateUser(contextOf(request), request.params.id, request.body)),
    }),
  );

  for (const [action, status] of [
    ['deactivate', 'deactivated'],
    ['reactivate', 'active'],
  ] as const) {
    app.post(
      `/users/:id/${action}`,
      {
        config: { permission: 'users:write' },
        schema: {
          operationId: `${action}User`,
          tags,
          summary: `${action === 'deactivate' ? 'Deactivate' : 'Reactivate'} a user (admin)`,
          description:
            action === 'deactivate'
              ? 'Blocks sign-in and ends every session immediately.'
              : 'Allows the user to sign in again.',
          params: userIdParams,
          response: { 200: userEnvelope },
        },
      },
      async (request) => ({
        request_id: request.id,
        data: toUserDto(await adminUpdateUser(contextOf(request), request.params.id, { status })),
      }),
    );
  }
};
