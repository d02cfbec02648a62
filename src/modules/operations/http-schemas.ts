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

const currency = z
  .string()
  .max(3)
  .regex(/^[A-Z]{3}$/)
  .meta({ description: 'ISO 4217 currency code.', example: 'USD' });
const revenue = z
  .array(
    z.object({
      currency,
      amount: count.meta({ description: 'Minor units: paid order totals less their refunds.' }),
    }),
  )
  .max(200)
  .meta({ description: 'Revenue per currency (none when nothing was paid).' });
const salesDay = z
  .object({
    date: z.iso.date().meta({ description: 'UTC calendar day.' }),
    orders: count.meta({ description: 'Orders placed that day, any status.' }),
    revenue,
  })
  .meta({ id: 'SalesDay', description: 'Orders and revenue of one day (UTC).' });
const recentCounts = z.object({ today: count, last_30_days: count });

export const overviewResponse = envelope(
  z
    .object({
      today: salesDay,
      days: z
        .array(salesDay)
        .max(31)
        .meta({ description: 'The last 30 UTC days, oldest first, today last.' }),
      signups: recentCounts.meta({ description: 'New accounts.' }),
      failed_payments: recentCounts.meta({ description: 'Payment attempts that failed.' }),
      low_stock: z.object({
        total: count.meta({ description: 'Variants below their low-stock threshold.' }),
        variants: z
          .array(
            z.object({
              variant_id: z.uuid(),
              sku: z
                .string()
                .max(64)
                .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
              available: count,
              threshold: count,
            }),
          )
          .max(10)
          .meta({ description: 'The most urgent ten, fewest available first.' }),
      }),
      dead_letters: count.meta({ description: 'Dead letters awaiting replay.' }),
    })
    .meta({
      id: 'ShopOverview',
      description:
        'The numbers an operator checks each morning: sales, sign-ups, failed payments, low stock and dead letters.',
    }),
);
