import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import type { Permission } from '../../platform/security/permissions.js';
import type { ApiClient } from './clients.js';
import {
  clientListQuery,
  clientParams,
  createClientBody,
  createdClientResponse,
  clientListResponse,
  noContent,
} from './http-schemas.js';
import type { AuthServices } from './module.js';

const tags = ['auth'];

function toClientDto(client: ApiClient) {
  return {
    id: client.id,
    client_id: client.clientId,
    name: client.name,
    permissions: client.permissions as Permission[],
    created_at: client.createdAt.toISOString(),
    last_used_at: client.lastUsedAt?.toISOString() ?? null,
    revoked_at: client.revokedAt?.toISOString() ?? null,
  };
}

/** Admin management of OAuth API clients (client_credentials). */
export function clientRoutes(auth: AuthServices): FastifyPluginCallbackZod {
  return (app, _options, done) => {
    app.post(
      '/admin/api-clients',
      {
        config: { permission: 'clients:write', idempotency: 'optional' },
        schema: {
          operationId: 'createApiClient',
          tags,
          summary: 'Create an API client',
          description:
            'Creates an OAuth 2.0 client for the client_credentials grant at POST /oauth/token. The secret is in this answer only; Bazaar keeps just its hash.',
          body: createClientBody,
          response: { 201: createdClientResponse },
        },
      },
      async (request, reply) => {
        const { client, secret } = await auth.clients.create(contextOf(request), request.body);
        return reply
          .code(201)
          .send({ request_id: request.id, data: { ...toClientDto(client), client_secret: secret } });
      },
    );

    app.get(
      '/admin/api-clients',
      {
        config: { permission: 'clients:read' },
        schema: {
          operationId: 'listApiClients',
          tags,
          summary: 'List API clients',
          description: 'All API clients, newest first, revoked ones included. Secrets are never shown again.',
          querystring: clientListQuery,
          response: { 200: clientListResponse },
        },
      },
      async (request) => {
        const { page, per_page: perPage } = request.query;
        const { rows, total } = await auth.clients.list(contextOf(request), { page, perPage });
        return {
          request_id: request.id,
          data: rows.map(toClientDto),
          ...pageOf(request.url, page, perPage, total),
        };
      },
    );

    app.delete(
      '/admin/api-clients/:id',
      {
        config: { permission: 'clients:write' },
        schema: {
          operationId: 'revokeApiClient',
          tags,
          summary: 'Revoke an API client',
          description:
            'The client can no longer get tokens, and its current tokens stop working at once. Answers 204.',
          params: clientParams,
          response: { 204: noContent },
        },
      },
      async (request, reply) => {
        await auth.clients.revoke(contextOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
    done();
  };
}
