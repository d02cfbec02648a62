import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { contextOf } from '../../platform/http/server.js';
import { getUser } from '../users/index.js';
import { sessionListResponse } from './http-schemas.js';
import { listLiveSessions } from './sessions.js';

/** User administration's view of another account's sign-in sessions. */
export const adminSessionRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/users/:id/sessions',
    {
      config: { permission: 'users:read' },
      schema: {
        operationId: 'listUserSessions',
        tags: ['users'],
        summary: 'A user’s sessions (admin)',
        description: 'The user’s active sign-in sessions (devices), most recently used first.',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: sessionListResponse },
      },
    },
    async (request) => {
      const ctx = contextOf(request);
      const user = await getUser(ctx, request.params.id);
      const rows = await listLiveSessions(ctx.db, user.id);
      return {
        request_id: request.id,
        data: rows.map((s) => ({
          id: s.id,
          created_at: s.createdAt.toISOString(),
          last_used_at: s.lastUsedAt.toISOString(),
          expires_at: s.expiresAt.toISOString(),
          ip: s.ip,
          user_agent: s.userAgent,
          current: s.id === request.actor!.sessionId,
        })),
      };
    },
  );
  done();
};
