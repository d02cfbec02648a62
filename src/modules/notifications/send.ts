import { sql } from 'drizzle-orm';
import type { TxContext } from '../../platform/context.js';
import { prepared } from '../../platform/db/prepared.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import { newMessageId, type MailAttachment, type MailMessage } from '../../platform/mail/mailer.js';
import { getUserPreferences } from '../users/index.js';
import { notifications } from './schema.js';
import { effectiveTemplate } from './template-store.js';
import { builtInTemplates, renderTemplate, type TemplateName, type TemplateVariables } from './templates.js';

/** The job that hands one logged notification to the mail transport. */
export const DELIVERY_QUEUE = 'notifications.deliver';

export interface DeliveryJob {
  notification_id: string;
  /** Rendered when the notification was decided, so every retry sends the very same mail. */
  message: MailMessage;
}

/** Variables every mail gets from configuration; a caller may still set them. */
type SharedVariable = 'shop_name' | 'shop_url';

export interface NotificationRequest<N extends TemplateName = TemplateName> {
  template: N;
  to: string;
  /** The recipient's account, if any: the opt-out of non-transactional mail is looked up by it. */
  userId?: string;
  /** The event that caused the mail, for the log. */
  eventId?: string;
  variables: Omit<TemplateVariables<N>, SharedVariable> & Partial<Record<SharedVariable, string>>;
  attachments?: MailAttachment[];
}

export interface SentNotification {
  id: string;
  messageId: string;
  /** `suppressed`: logged but not sent, because the user has not opted in to this kind of mail. */
  status: 'queued' | 'suppressed';
}

/** `sendNotification` with the module's settings bound, as other modules and handlers get it. */
export type NotificationSender = <N extends TemplateName>(
  tx: TxContext,
  request: NotificationRequest<N>,
) => Promise<SentNotification>;

export interface SendSettings {
  jobs: Jobs;
  /** `MAIL_FROM`: the domain of every Message-ID. */
  from: string;
  shopName: string;
  shopUrl: string;
}

/**
 * Decides one e-mail in the caller's transaction: renders the operator's override or the
 * built-in template, applies the opt-out rule, logs it with a Message-ID fixed from now on, and
 * enqueues its delivery. Rolled back with the caller: no mail for an action that did not happen.
 */
export async function sendNotification<N extends TemplateName>(
  tx: TxContext,
  settings: SendSettings,
  request: NotificationRequest<N>,
): Promise<SentNotification> {
  const name: TemplateName = request.template;
  const mail = renderTemplate(await effectiveTemplate(tx, name), {
    shop_name: settings.shopName,
    shop_url: settings.shopUrl,
    ...(request.variables as Record<string, string>),
  });
  const status = (await mayReceive(tx, name, request.userId)) ? 'queued' : 'suppressed';
  const messageId = newMessageId(settings.from);
  const [row] = await insertNotification(tx.db, {
    userId: request.userId ?? null,
    recipient: request.to,
    template: name,
    subject: mail.subject,
    messageId,
    eventId: request.eventId ?? null,
    status,
  });
  const id = row!.id;
  if (status === 'queued') {
    await settings.jobs.enqueue<DeliveryJob>(tx.db, DELIVERY_QUEUE, {
      notification_id: id,
      message: {
        to: request.to,
        ...mail,
        messageId,
        template: name,
        ...(request.attachments?.length ? { attachments: request.attachments } : {}),
      },
    });
  }
  return { id, messageId, status };
}

const insertNotification = prepared((db) =>
  db
    .insert(notifications)
    .values({
      userId: sql.placeholder('userId'),
      recipient: sql.placeholder('recipient'),
      template: sql.placeholder('template'),
      subject: sql.placeholder('subject'),
      messageId: sql.placeholder('messageId'),
      eventId: sql.placeholder('eventId'),
      status: sql.placeholder('status'),
    })
    .returning({ id: notifications.id })
    .prepare('notifications_insert'),
);

/**
 * Transactional mail (receipts, links the user asked for) always goes out. Any other mail
 * (welcome) only to a user whose `marketing_emails` preference is on; without an account to
 * ask, it is not sent.
 */
async function mayReceive(tx: TxContext, name: TemplateName, userId: string | undefined): Promise<boolean> {
  if (builtInTemplates[name].transactional) return true;
  if (!userId) return false;
  return (await getUserPreferences(tx, userId)).marketing_emails === true;
}
