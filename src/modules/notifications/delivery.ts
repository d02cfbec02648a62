import { eq, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../platform/db/client.js';
import { prepared } from '../../platform/db/prepared.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import { isPermanentMailFailure, type Mailer } from '../../platform/mail/mailer.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { notifications } from './schema.js';
import { DELIVERY_QUEUE, type DeliveryJob } from './send.js';

export interface DeliveryDeps {
  db: Database;
  jobs: Jobs;
  mailer: Mailer;
  metrics: Metrics;
  logger: Logger;
  /** `JOB_RETRY_LIMIT`: the try with this retry count is the last one. */
  retryLimit: number;
}

/**
 * The worker side of a notification: send it, and record the outcome on its log row.
 *  - delivered → `sent`;
 *  - temporary failure (SMTP 4xx, connection trouble) → the error is recorded and the job throws,
 *    so pg-boss retries it with backoff; the last try marks the row `failed` and pg-boss
 *    dead-letters the job;
 *  - permanent failure (SMTP 5xx) → `failed` and dead-lettered at once, in one transaction: no
 *    retry can fix a mailbox that does not exist.
 * The Message-ID travels in the job, so a retry after an unrecorded success repeats the same
 * mail (which receivers can tell as a duplicate), never a different one.
 */
export function defineDelivery(deps: DeliveryDeps): void {
  deps.jobs.define<DeliveryJob>(DELIVERY_QUEUE, (job, meta) => deliver(deps, job, meta.retryCount));
}

async function deliver(deps: DeliveryDeps, job: DeliveryJob, retryCount: number): Promise<void> {
  const { notification_id: id, message } = job;
  const log = { notification_id: id, template: message.template, message_id: message.messageId };
  const status = await statusOf(deps.db, id);
  // Already sent (a retry after the outcome was recorded), or cancelled by the user's erasure.
  // A `failed` row is tried again: that is a dead letter an operator replayed.
  if (status === undefined || status === 'sent' || status === 'suppressed') return;
  try {
    await deps.mailer.send(message);
  } catch (error) {
    const permanent = isPermanentMailFailure(error);
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    await deps.db.transaction(async (tx) => {
      await recordAttempt(tx, id, {
        status: permanent || retryCount >= deps.retryLimit ? 'failed' : 'queued',
        lastError: reason,
      });
      if (permanent) await deps.jobs.deadLetter(tx, DELIVERY_QUEUE, job, reason, retryCount);
    });
    if (!permanent) throw error;
    deps.logger.warn({ ...log, err: error }, 'mail refused permanently; dead-lettered without retry');
    return;
  }
  await recordAttempt(deps.db, id, { status: 'sent', sentAt: new Date() });
  deps.metrics.mailsSent.inc({ template: message.template });
  deps.logger.info(log, 'mail sent');
}

const statusRow = prepared((db) =>
  db
    .select({ status: notifications.status })
    .from(notifications)
    .where(eq(notifications.id, sql.placeholder('id')))
    .limit(1)
    .prepare('notifications_status_of'),
);

async function statusOf(db: Executor, id: string): Promise<string | undefined> {
  const [row] = await statusRow(db, { id });
  return row?.status;
}

/** One statement for every outcome: a null `lastError` or `sentAt` leaves the column as it is. */
const updateAttempt = prepared((db) =>
  db
    .update(notifications)
    .set({
      status: sql`${sql.placeholder('status')}`,
      lastError: sql`coalesce(${sql.placeholder('lastError')}, ${notifications.lastError})`,
      sentAt: sql`coalesce(${sql.placeholder('sentAt')}::timestamptz, ${notifications.sentAt})`,
      attempts: sql`${notifications.attempts} + 1`,
    })
    .where(eq(notifications.id, sql.placeholder('id')))
    .prepare('notifications_record_attempt'),
);

function recordAttempt(
  db: Executor,
  id: string,
  outcome: { status: 'queued' | 'sent' | 'failed'; lastError?: string; sentAt?: Date },
) {
  return updateAttempt(db, {
    id,
    status: outcome.status,
    lastError: outcome.lastError ?? null,
    sentAt: outcome.sentAt?.toISOString() ?? null,
  });
}
