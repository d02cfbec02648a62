import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle, Tx } from '../db/client.js';
import { transactionRunner } from '../db/client.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { processedEvents } from './schema.js';

/** The envelope of every domain event (ARCHITECTURE.md, API conventions). */
export interface DomainEvent<T = Record<string, unknown>> {
  event_id: string;
  event_type: string;
  event_time: string;
  source: string;
  data: T;
}

export interface JobOptions {
  retryLimit: number;
  retryDelaySeconds: number;
  pollingIntervalSeconds: number;
  concurrency: number;
}

export type JobHandler<T> = (data: T, job: { id: string; retryCount: number }) => Promise<void>;
export type EventHandler<T> = (
  event: DomainEvent<T>,
  job: { id: string; retryCount: number },
) => Promise<void>;

interface QueueDefinition {
  name: string;
  handler: JobHandler<never>;
}

const DEAD_LETTER_SUFFIX = '__dead';

/**
 * Jobs and events over pg-boss. Queues and subscriptions are declared the same way in every
 * process; only processes started with `work: true` consume them. Producers never call pg-boss
 * outside a transaction: `enqueue` and `publish` take the caller's transaction.
 */
export class Jobs {
  private readonly boss: PgBoss;
  private readonly queues = new Map<string, QueueDefinition>();
  private readonly subscribers = new Map<string, string[]>();
  private started = false;

  constructor(
    database: DatabaseHandle,
    private readonly options: JobOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.boss = new PgBoss({
      ...database.bossConnection,
      schema: 'pgboss',
      max: 4,
      supervise: true,
      schedule: true,
      migrate: true,
      pollingIntervalSeconds: options.pollingIntervalSeconds,
    });
    this.boss.on('error', (error: Error) => this.logger.error({ err: error }, 'job queue error'));
  }

  /** Declares a job queue and the function that handles its jobs. */
  define<T>(name: string, handler: JobHandler<T>): void {
    if (this.queues.has(name)) throw new Error(`Queue ${name} is defined twice.`);
    this.queues.set(name, { name, handler: handler });
  }

  /**
   * Subscribes a named handler to an event type. Each handler gets its own queue, so one slow or
   * failing handler never holds back another. The handler runs `effect` at most once per event.
   */
  subscribe<T>(eventType: string, handlerName: string, handler: EventHandler<T>): void {
    const queue = `${eventType}.${handlerName}`.replace(/[^\w.-]/g, '_');
    this.define<DomainEvent<T>>(queue, (event, job) => handler(event, job));
    this.subscribers.set(eventType, [...(this.subscribers.get(eventType) ?? []), queue]);
  }

  /** Adds a job inside the caller's transaction: it exists if and only if the transaction commits. */
  async enqueue<T extends object>(
    tx: Tx,
    queue: string,
    data: T,
    options: { startAfterSeconds?: number } = {},
  ) {
    if (!this.queues.has(queue)) throw new Error(`Queue ${queue} is not defined.`);
    await this.boss.send(queue, data, {
      db: transactionRunner(tx),
      ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
    });
  }

  /** Publishes an event inside the caller's transaction to every subscribed handler. */
  async publish<T extends object>(
    tx: Tx,
    eventType: string,
    data: T,
    source: string,
  ): Promise<DomainEvent<T>> {
    const event: DomainEvent<T> = {
      event_id: randomUUID(),
      event_type: eventType,
      event_time: new Date().toISOString(),
      source,
      data,
    };
    const queues = this.subscribers.get(eventType) ?? [];
    if (queues.length > 0) {
      await this.boss.insert(
        queues.map((name) => ({ name, data: event })),
        { db: transactionRunner(tx) },
      );
    }
    return event;
  }

  /**
   * Records that `handler` applied its effect for `eventId`, in the effect's transaction.
   * Returns false when it already had: the caller then skips the effect.
   */
  async claim(tx: Tx, eventId: string, handler: string): Promise<boolean> {
    const rows = await tx
      .insert(processedEvents)
      .values({ eventId, handler })
      .onConflictDoNothing()
      .returning({ eventId: processedEvents.eventId });
    return rows.length === 1;
  }

  /** Installs pg-boss' schema and every queue. `work` starts consuming them in this process. */
  async start({ work }: { work: boolean }): Promise<void> {
    await this.boss.start();
    this.started = true;
    for (const name of this.queues.keys()) {
      const options = {
        retryLimit: this.options.retryLimit,
        retryDelay: this.options.retryDelaySeconds,
        retryBackoff: true,
        deadLetter: `${name}${DEAD_LETTER_SUFFIX}`,
      };
      await this.boss.createQueue(`${name}${DEAD_LETTER_SUFFIX}`);
      await this.boss.createQueue(name, { name, ...options });
      await this.boss.updateQueue(name, { name, ...options });
    }
    if (!work) return;
    for (const { name, handler } of this.queues.values()) {
      for (let i = 0; i < this.options.concurrency; i += 1) {
        await this.boss.work<never>(name, { batchSize: 1, includeMetadata: true }, (jobs) =>
          this.run(name, handler, jobs),
        );
      }
    }
  }

  private async run(queue: string, handler: JobHandler<never>, jobs: PgBoss.JobWithMetadata<never>[]) {
    for (const job of jobs) {
      try {
        await handler(job.data, { id: job.id, retryCount: job.retryCount });
        this.metrics.jobsProcessed.inc({ queue, outcome: 'completed' });
      } catch (error) {
        this.metrics.jobsProcessed.inc({ queue, outcome: 'failed' });
        this.logger.warn(
          { err: error, queue, job_id: job.id },
          'job failed; pg-boss will retry or dead-letter it',
        );
        throw error;
      }
    }
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Stops fetching, waits for running handlers (up to `timeoutSeconds`), closes pg-boss' pool. */
  async stop(timeoutSeconds: number): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutSeconds * 1000 });
  }

  /** Used by readiness: pg-boss' schema answers. */
  async ping(tx: { execute: Tx['execute'] }): Promise<void> {
    await tx.execute(sql`select 1 from pgboss.version limit 1`);
  }
}
