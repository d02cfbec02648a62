import { z } from 'zod';
import { envelope, listEnvelope, paginationQuery } from '../../platform/http/envelope.js';
import { notificationStatuses, type Notification } from './log.js';
import type { TemplateView } from './template-store.js';
import type { EmailTemplate } from './templates.js';

const timestamp = z.iso.datetime().max(35);
const templateName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/)
  .meta({ description: 'A template’s name.', example: 'order-shipped' });
const email = z.string().max(254).meta({ example: 'sam@example.com' });

// ---- the log ----

export const notificationQuery = z.strictObject({
  ...paginationQuery,
  template: templateName.optional().meta({ description: 'Only mails of this template.' }),
  status: z.enum(notificationStatuses).optional().meta({ description: 'Only mails in this state.' }),
  recipient: z
    .email()
    .max(254)
    .optional()
    .meta({ description: 'Only mails to this address (any letter case).', example: 'sam@example.com' }),
});

export const notificationSchema = z
  .object({
    id: z.uuid(),
    user_id: z.uuid().nullable().meta({ description: 'The recipient’s account, if the mail was about one.' }),
    recipient: email,
    template: templateName,
    subject: z.string().max(1000),
    message_id: z.string().max(300).meta({
      description: 'The Message-ID header; the same on every delivery attempt.',
      example: '<0b6a8a9e-52f3-4c9f-9f0e-1f9d0a6c1d2e@shop.example.com>',
    }),
    event_id: z.uuid().nullable().meta({ description: 'The event that caused the mail, if any.' }),
    status: z.enum(notificationStatuses).meta({
      description:
        '`queued`: waiting for (another) delivery attempt; `sent`: accepted by the mail server; `failed`: refused permanently (SMTP 5xx) or out of retries — the delivery job is a dead letter; `suppressed`: not sent, because the user has not opted in to this non-transactional mail.',
    }),
    attempts: z.int().min(0).max(1_000_000).meta({ description: 'Delivery attempts made.' }),
    last_error: z
      .string()
      .max(1000)
      .nullable()
      .meta({ description: 'The latest failed attempt’s error (kept after a later success).' }),
    created_at: timestamp,
    sent_at: timestamp.nullable(),
  })
  .meta({ id: 'Notification', description: 'One e-mail Bazaar decided to send, and what became of it.' });

export function toNotificationDto(row: Notification): z.infer<typeof notificationSchema> {
  return {
    id: row.id,
    user_id: row.userId,
    recipient: row.recipient,
    template: row.template,
    subject: row.subject,
    message_id: row.messageId,
    event_id: row.eventId,
    status: row.status as z.infer<typeof notificationSchema>['status'],
    attempts: row.attempts,
    last_error: row.lastError,
    created_at: row.createdAt.toISOString(),
    sent_at: row.sentAt?.toISOString() ?? null,
  };
}

export const notificationList = listEnvelope(notificationSchema);

// ---- templates ----

const subject = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[^\r\n]*$/, 'must be one line')
  .meta({
    description: 'Subject line, with `{{variable}}` placeholders.',
    example: 'Your order {{order_number}} is on its way',
  });
const text = z
  .string()
  .min(1)
  .max(50_000)
  .meta({ description: 'Plain-text body, with `{{variable}}` placeholders.' });
const html = z.string().min(1).max(100_000).meta({
  description:
    'HTML body (inside Bazaar’s mail layout), with `{{variable}}` placeholders; their values are HTML-escaped.',
});

const templateParts = z.object({ subject, text, html });

export const templateSchema = z
  .object({
    name: templateName,
    description: z.string().max(500),
    transactional: z.boolean().meta({
      description:
        'Transactional mail is always sent; other mail only to users who opted in to `marketing_emails`.',
    }),
    variables: z
      .array(
        z.object({
          name: z
            .string()
            .max(64)
            .regex(/^[a-z_]+$/)
            .meta({ example: 'order_number' }),
          sample: z.string().max(1000).meta({ description: 'The value previews use.', example: 'BZ-100042' }),
        }),
      )
      .max(50)
      .meta({ description: 'The placeholders this template may use.' }),
    subject,
    text,
    html,
    overridden: z.boolean().meta({ description: 'Whether an operator’s version replaces the built-in.' }),
    updated_at: timestamp
      .nullable()
      .meta({ description: 'When the override was saved; null for the built-in.' }),
    updated_by: z.uuid().nullable(),
    built_in: templateParts.meta({ description: 'The built-in version, which DELETE restores.' }),
  })
  .meta({ id: 'EmailTemplate', description: 'An e-mail template: what is sent now, and the built-in.' });

export function toTemplateDto(view: TemplateView): z.infer<typeof templateSchema> {
  return {
    name: view.name,
    description: view.description,
    transactional: view.transactional,
    variables: Object.entries(view.variables).map(([name, sample]) => ({ name, sample })),
    subject: view.subject,
    text: view.text,
    html: view.html,
    overridden: view.overridden,
    updated_at: view.updatedAt?.toISOString() ?? null,
    updated_by: view.updatedBy,
    built_in: view.builtIn,
  };
}

export const templateParams = z.strictObject({ name: templateName });
export const templateBody = z.strictObject({ subject, text, html }).meta({
  id: 'EmailTemplateOverride',
  description: 'An operator’s version of an e-mail template (subject, text and HTML).',
});
export const previewBody = z
  .strictObject({ subject: subject.optional(), text: text.optional(), html: html.optional() })
  .meta({
    id: 'EmailTemplatePreviewRequest',
    description: 'Unsaved parts to preview; omitted ones are the current.',
  });

const renderedSchema = z
  .object({
    subject: z.string().max(2000),
    text: z.string().max(200_000),
    html: z.string().max(400_000).meta({ description: 'The complete HTML document, layout included.' }),
  })
  .meta({
    id: 'RenderedEmail',
    description: 'A template rendered with sample data, as a recipient would see it.',
  });

export function toRenderedDto(mail: EmailTemplate): z.infer<typeof renderedSchema> {
  return { subject: mail.subject, text: mail.text, html: mail.html };
}

export const templateEnvelope = envelope(templateSchema);
export const templateListEnvelope = envelope(z.array(templateSchema).max(100));
export const renderedEnvelope = envelope(renderedSchema);
