import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pageOf } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import { auditList, auditQuery } from './http-schemas.js';
import { listAuditLog } from './service.js';

export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/admin/audit-log',
    {
      config: { permission: 'audit:read' },
      schema: {
        operationId: 'listAuditLog',
        tags: ['audit'],
        summary: 'List the audit log',
        description:
          'Sensitive actions with actor, target, time, request id, IP and a diff. Newest first by default.',
        querystring: auditQuery,
        response: { 200: auditList },
      },
    },
    async (request) => {
      const q = request.query;
      const { rows, total } = await listAuditLog(contextOf(request), {
        actorId: q.actor_id,
        action: q.action,
        targetType: q.target_type,
        targetId: q.target_id,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        order: q.order,
        page: q.page,
        perPage: q.per_page,
      });
      return {
        request_id: request.id,
        data: rows.map((r) => ({
          id: r.id,
          occurred_at: r.occurredAt.toISOString(),
          actor_type: r.actorType as 'user' | 'client' | 'anonymous' | 'system',
          actor_id: r.actorId,
          action: r.action,
          target_type: r.targetType,
          target_id: r.targetId,
          request_id: r.requestId,
          ip: r.ip,
          diff: r.diff as Record<string, { from: unknown; to: unknown }> | null,
          metadata: r.metadata as Record<string, unknown> | null,
        })),
        ...pageOf(request.url, q.page, q.per_page, total),
      };
    },
  );
};
