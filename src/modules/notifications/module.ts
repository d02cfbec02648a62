import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Database } from '../../platform/db/client.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { registerUserDataContributor } from '../users/index.js';
import { defineDelivery } from './delivery.js';
import { notificationUserData } from './log.js';
import { subscribeOrderMail } from './order-mail.js';
import { notificationRoutes } from './routes.js';
import { sendNotification, type NotificationSender } from './send.js';
import { subscribeWelcome } from './welcome.js';

export interface NotificationsDeps {
  db: Database;
  jobs: Jobs;
  mailer: Mailer;
  metrics: Metrics;
  logger: Logger;
  /** `MAIL_FROM`: the domain of every Message-ID. */
  mailFrom: string;
  /** `SHOP_NAME` and `PUBLIC_URL`: `{{shop_name}}` and `{{shop_url}}` of every template. */
  shopName: string;
  shopUrl: string;
  /** `WELCOME_EMAIL_DELAY`, in seconds. */
  welcomeDelaySeconds: number;
  /** `JOB_RETRY_LIMIT`: delivery tries after the first before a mail counts as failed. */
  retryLimit: number;
}

/** Every e-mail Bazaar sends: templates, the opt-out rule, the log, delivery and its outcome. */
export interface Notifications {
  /**
   * Decides one e-mail in the caller's transaction: renders the template (operator override or
   * built-in), logs it — `suppressed` when it is non-transactional and the user has not opted in
   * to `marketing_emails` — and enqueues its delivery with a Message-ID fixed from now on.
   */
  sendNotification: NotificationSender;
  /** Admin routes (log and templates); register under `/api/v1`. */
  routes: FastifyPluginAsyncZod;
}

export function createNotificationsModule(deps: NotificationsDeps): Notifications {
  const send: NotificationSender = (tx, request) =>
    sendNotification(
      tx,
      { jobs: deps.jobs, from: deps.mailFrom, shopName: deps.shopName, shopUrl: deps.shopUrl },
      request,
    );
  defineDelivery(deps);
  subscribeWelcome({ db: deps.db, jobs: deps.jobs, send, delaySeconds: deps.welcomeDelaySeconds });
  subscribeOrderMail({ db: deps.db, jobs: deps.jobs, send, shopUrl: deps.shopUrl });
  registerUserDataContributor(notificationUserData);
  return { sendNotification: send, routes: notificationRoutes };
}
