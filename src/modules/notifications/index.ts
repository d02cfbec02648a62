/**
 * The notifications module: every e-mail Bazaar sends — templates (built-in, overridable by
 * operators), the opt-out of non-transactional mail, the notifications log, delivery with
 * retries and dead letters — and the event handlers that send them.
 */
export { createNotificationsModule, type Notifications, type NotificationsDeps } from './module.js';
export type { NotificationRequest, NotificationSender, SentNotification } from './send.js';
export { templateNames, type TemplateName, type TemplateVariables } from './templates.js';
