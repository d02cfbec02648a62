import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Metrics } from '../observability/metrics.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const checkResult = z.object({
  name: z.string().max(50),
  ok: z.boolean(),
  error: z.string().max(500).optional(),
});

/** Liveness, readiness, Prometheus metrics and the OpenAPI document. */
export function opsRoutes(options: {
  metrics: Metrics;
  checks: ReadinessCheck[];
  /** True once shutdown began: readiness fails so traffic moves away before the listener closes. */
  isDraining?: () => boolean;
}): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/healthz',
      {
        schema: {
          hide: true,
          operationId: 'healthz',
          tags: ['operations'],
          summary: 'Liveness',
          description: 'Answers 200 while the process runs.',
          response: { 200: z.object({ status: z.literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          hide: true,
          operationId: 'readyz',
          tags: ['operations'],
          summary: 'Readiness',
          description:
            'Answers 200 when the database, job queue and cache are reachable, else 503 (also from the moment a shutdown begins).',
          response: {
            200: z.object({ status: z.literal('ready'), checks: z.array(checkResult).max(10) }),
            503: z.object({ status: z.literal('unavailable'), checks: z.array(checkResult).max(10) }),
          },
        },
      },
      async (_request, reply) => {
        if (options.isDraining?.()) {
          return reply.code(503).send({
            status: 'unavailable',
            checks: [{ name: 'shutdown', ok: false, error: 'shutting down' }],
          } as never);
        }
        const checks = await Promise.all(
          options.checks.map(async (readiness) => {
            const { name } = readiness;
            try {
              await withTimeout(readiness.check(), 2000);
              return { name, ok: true };
            } catch (error) {
              return { name, ok: false, error: error instanceof Error ? error.message : 'failed' };
            }
          }),
        );
        const ready = checks.every((c) => c.ok);
        return reply
          .code(ready ? 200 : 503)
          .send({ status: ready ? 'ready' : 'unavailable', checks } as never);
      },
    );

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const body = await options.metrics.registry.metrics();
      return reply.type(options.metrics.registry.contentType).send(body);
    });

    app.get('/api/v1/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
      return reply.header('Cache-Control', 'public, max-age=60').send(app.swagger());
    });
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
