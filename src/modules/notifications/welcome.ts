import { inTransaction, systemContext } from '../../platform/context.js';
import type { Database } from '../../platform/db/client.js';
import type { DomainEvent, Jobs } from '../../platform/jobs/jobs.js';
import { findUserById } from '../users/index.js';
import type { NotificationSender } from './send.js';

/** Data of `user.registered`, published by auth at sign-up. */
export interface UserRegistered {
  user_id: string;
  email: string;
}

const WELCOME_QUEUE = 'notifications.welcome';

/**
 * The welcome mail is marketing mail: sent only to a customer who opted in to `marketing_emails`,
 * otherwise logged as `suppressed`. Opting in happens after sign-up (the preference defaults to
 * off), so the decision waits `delaySeconds` (`WELCOME_EMAIL_DELAY`) for onboarding to ask.
 */
export function subscribeWelcome(deps: {
  db: Database;
  jobs: Jobs;
  send: NotificationSender;
  delaySeconds: number;
}): void {
  const { db, jobs } = deps;
  jobs.subscribe<UserRegistered>('user.registered', 'welcome-email', async (event) => {
    await db.transaction((tx) =>
      jobs.enqueue(tx, WELCOME_QUEUE, event, { startAfterSeconds: deps.delaySeconds }),
    );
  });

  jobs.define<DomainEvent<UserRegistered>>(WELCOME_QUEUE, async (event) => {
    await inTransaction(systemContext(db, event.event_id), async (tx) => {
      // Claimed here, not on the event: a redelivered `user.registered` queues a second
      // decision, and only the first to claim sends.
      if (!(await jobs.claim(tx.db, event.event_id, WELCOME_QUEUE))) return;
      const user = await findUserById(tx, event.data.user_id);
      if (user?.status !== 'active') return;
      await deps.send(tx, {
        template: 'welcome',
        to: user.email,
        userId: user.id,
        eventId: event.event_id,
        variables: { name: user.name },
      });
    });
  });
}
