import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope, pageOf } from '../../platform/http/envelope.js';
import { respondInTransaction } from '../../platform/http/idempotency.js';
import { contextOf } from '../../platform/http/server.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import {
  deadLetterList,
  deadLetterParams,
  deadLetterQuery,
  jobStatsResponse,
  replayResponse,
} from './http-schemas.js';
import { jobQueueStats, listDeadLetters, replayDeadLetter } from './service.js';

const tags = ['jobs'];

/** Admin view of the background jobs: queue health, dead letters and their replay. */
export function operationsRoutes(jobs: Jobs): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/admin/jobs',
      {
        config: { permission: 'jobs:read' },
        schema: {
          operationId: 'listJobQueues',
          tags,
          summary: 'Job queue health',
          description:
            'Per handler queue: jobs waiting, running, retrying, failed in the last 24 hours, and dead letters awaiting replay.',
          response: { 200: jobStatsResponse },
        },
      },
      async (request) => {
        const stats = await jobQueueStats(contextOf(request), jobs);
        return {
          request_id: request.id,
          data: stats.map((s) => ({
            queue: s.queue,
            queued: s.queued,
            active: s.active,
            retrying: s.retrying,
            failed: s.failed,
            dead_letters: s.deadLetters,
          })),
        };
      },
    );

    app.get(
      '/admin/jobs/dead-letters',
      {
        config: { permission: 'jobs:read' },
        schema: {
          operationId: 'listDeadLetters',
          tags,
          summary: 'List dead letters',
          description:
            'Jobs that failed on every try, newest first, with their payload and last error. Replayed ones are not listed.',
          querystring: deadLetterQuery,
          response: { 200: deadLetterList },
        },
      },
      async (request) => {
        const { queue, page, per_page: perPage } = request.query;
        const { rows, total } = await listDeadLetters(contextOf(request), jobs, { queue, page, perPage });
        return {
          request_id: request.id,
          data: rows.map((d) => ({
            id: d.id,
            queue: d.queue,
            data: d.data,
            error: d.error,
            failed_at: d.failedAt,
            retry_count: d.retryCount,
          })),
          ...pageOf(request.url, page, perPage, total),
        };
      },
    );

    app.post(
      '/admin/jobs/dead-letters/:id/replay',
      {
        config: { permission: 'jobs:write', idempotency: 'optional' },
        schema: {
          operationId: 'replayDeadLetter',
          tags,
          summary: 'Replay a dead letter',
          description:
            'Puts the dead letter’s payload back on its handler queue as a new job (with fresh retries) and marks the dead letter replayed; audited. Event handlers apply each event once, so replaying an event whose effect already happened changes nothing. A dead letter replays once: again answers 409.',
          params: deadLetterParams,
          response: {
            202: replayResponse,
            409: errorEnvelope.describe(
              'CONFLICT: the dead letter was already replayed; or IDEMPOTENCY_KEY_IN_USE: a request with this Idempotency-Key is still running.',
            ),
          },
        },
      },
      async (request, reply) => {
        const body = await respondInTransaction(request, contextOf(request), 202, async (ctx) => {
          const replay = await replayDeadLetter(ctx, jobs, request.params.id);
          return {
            request_id: request.id,
            data: { id: request.params.id, queue: replay.queue, job_id: replay.jobId },
          };
        });
        return reply.code(202).send(body);
      },
    );
  };
}
