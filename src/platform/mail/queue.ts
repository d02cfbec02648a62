import type { TxContext } from '../context.js';
import type { Jobs } from '../jobs/jobs.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import { newMessageId, type MailMessage, type Mailer } from './mailer.js';

export const MAIL_QUEUE = 'mail.send';

/**
 * Outgoing mail as jobs: `send` enqueues in the caller's transaction (no mail for a rolled-back
 * action, no lost mail for a committed one); the worker delivers it with retries and backoff.
 */
export class MailQueue {
  constructor(
    private readonly jobs: Jobs,
    private readonly from: string,
  ) {}

  /** Registers the delivery handler; called once per process at startup. */
  static define(jobs: Jobs, mailer: Mailer, metrics: Metrics, logger: Logger): void {
    jobs.define<MailMessage>(MAIL_QUEUE, async (message) => {
      await mailer.send(message);
      metrics.mailsSent.inc({ template: message.template });
      logger.info({ template: message.template, message_id: message.messageId }, 'mail sent');
    });
  }

  async send(ctx: TxContext, message: Omit<MailMessage, 'messageId'>): Promise<string> {
    const messageId = newMessageId(this.from);
    await this.jobs.enqueue(ctx.db, MAIL_QUEUE, { ...message, messageId });
    return messageId;
  }
}
