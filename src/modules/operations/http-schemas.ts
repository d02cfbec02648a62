import { z } from 'zod';
import { envelope, listEnvelope, paginationQuery } from '../../platform/http/envelope.js';

const count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const queueName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.-]+$/)
  .meta({ description: 'A handler queue: `<event type>.<handler>` or a job name.', example: 'mail.send' });

export const jobQueueStats = z
  .object({
    queue: queueName,
    queued: count.meta({ description: 'Jobs waiting for a worker, including ones scheduled for later.' }),
    active: count.meta({ description: 'Jobs a worker is handling now.' }),
    retrying: count.meta({ description: 'Jobs that failed and wait for their next try (with backoff).' }),
    failed: count.meta({ description: 'Jobs that failed for good in the last 24 hours.' }),
    dead_letters: count.meta({ description: 'Dead letters of this queue not yet replayed.' }),
  })
  .meta({
    id: 'JobQueueStats',
    description: 'One background queue: jobs queued, active, retrying, failed and dead-lettered.',
  });

export const jobStatsResponse = envelope(z.array(jobQueueStats).max(1000));

export const deadLetterQuery = z.strictObject({
  ...paginationQuery,
  queue: queueName.optional().meta({ description: 'Only dead letters of this handler queue.' }),
});

export const deadLetterSchema = z
  .object({
    id: z.uuid(),
    queue: queueName,
    data: z.unknown().meta({ description: 'The job’s payload; for event handlers, the event envelope.' }),
    error: z.string().max(1000).meta({ description: 'The message of the last failure.' }),
    failed_at: z.iso.datetime(),
    retry_count: z
      .int()
      .min(0)
      .max(1_000_000)
      .meta({ description: 'Retries made before it was dead-lettered.' }),
  })
  .meta({
    id: 'DeadLetter',
    description: 'A job that failed every retry, with its payload and last error; it can be replayed.',
  });

export const deadLetterList = listEnvelope(deadLetterSchema);

export const deadLetterParams = z.strictObject({ id: z.uuid() });

export const replayResponse = envelope(
  z.object({
    id: z.uuid().meta({ description: 'The dead letter, now marked as replayed.' }),
    queue: queueName,
    job_id: z.uuid().meta({ description: 'The new job on the handler queue.' }),
  }),
);
