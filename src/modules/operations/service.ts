import { inTransaction, type Context } from '../../platform/context.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import { recordAudit } from '../audit/index.js';

/**
 * Operating the background jobs: queue health and dead letters. The SQL over pg-boss lives in
 * platform/jobs; this module adds what the platform may not: authorization and the audit trail.
 */
export function jobQueueStats(ctx: Context, jobs: Jobs) {
  return jobs.stats(ctx.db);
}

export function listDeadLetters(
  ctx: Context,
  jobs: Jobs,
  query: { queue?: string; page: number; perPage: number },
) {
  return jobs.deadLetters(ctx.db, query);
}

/** Re-enqueues a dead letter's payload on its handler queue, audited, in one transaction. */
export async function replayDeadLetter(ctx: Context, jobs: Jobs, id: string) {
  return inTransaction(ctx, async (tx) => {
    const replay = await jobs.replayDeadLetter(tx.db, id);
    await recordAudit(tx, {
      action: 'jobs.dead_letter_replayed',
      targetType: 'dead_letter',
      targetId: id,
      metadata: { queue: replay.queue, job_id: replay.jobId },
    });
    return replay;
  });
}
