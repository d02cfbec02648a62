import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { sql } from 'drizzle-orm';
import { context, SpanKind } from '@opentelemetry/api';
import { Gauge } from 'prom-client';
import type { DatabaseHandle, Executor, Tx } from '../db/client.js';
import { transactionRunner } from '../db/client.js';
import { prepared } from '../db/prepared.js';
import { conflict, notFound } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { extractTraceContext, injectTraceContext, inSpan } from '../observability/tracing.js';
import {
  deadLetterExists,
  deadLetterQueueOf,
  listDeadLetters,
  queueStats,
  takeDeadLetter,
  waitingJobs,
  type DeadLetter,
  type QueueStats,
} from './monitoring.js';
import { processedEvents } from './schema.js';
import type { Broadcast } from '../broadcast.js';
import { batchPerTurn } from '../turn-batch.js';
import { Wakeups } from './wake.js';

export type { DeadLetter, QueueStats } from './monitoring.js';

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
  /** How often an idle worker looks for jobs no wake-up announced: delayed ones, retries. */
  pollingIntervalSeconds: number;
  concurrency: number;
  /** How long a job may run; a job whose worker died is handed out again after this. */
  expireInSeconds: number;
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

/**
 * Jobs and events over pg-boss. Queues and subscriptions are declared the same way in every
 * process; only processes started with `work: true` consume them. Producers never call pg-boss
 * outside a transaction: `enqueue` and `publish` take the caller's transaction.
 */
export class Jobs {
  /** Made by `start`, which knows whether this process works the queues. */
  private pgBoss: PgBoss | undefined;
  private readonly queues = new Map<string, QueueDefinition>();
  private readonly subscribers = new Map<string, string[]>();
  private readonly schedules = new Map<string, string>();
  /** This process' pg-boss worker of each queue it consumes. */
  private readonly workers = new Map<string, string>();
  private readonly wakeups: Wakeups;
  /** Jobs of one queue that succeed in one turn of the event loop, completed in one statement. */
  private readonly completions = batchPerTurn<string, void>();
  private started = false;

  constructor(
    private readonly database: DatabaseHandle,
    private readonly options: JobOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    wakeChannel: Broadcast,
  ) {
    this.wakeups = new Wakeups(wakeChannel, logger);
    this.registerGauges();
  }

  private get boss(): PgBoss {
    if (!this.pgBoss) throw new Error('Jobs.start() has not run yet.');
    return this.pgBoss;
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

  /** Every event type with the queues of its subscribers (the event catalogue, as code has it). */
  subscriptions(): Record<string, string[]> {
    return Object.fromEntries([...this.subscribers].map(([type, queues]) => [type, [...queues].sort()]));
  }

  /**
   * Declares a job queue whose jobs are created by a cron schedule (UTC), e.g. `'17 3 * * *'`
   * for daily at 03:17. Every process may declare it; pg-boss creates one job per tick.
   */
  schedule<T>(name: string, cron: string, handler: JobHandler<T>): void {
    this.define(name, handler);
    this.schedules.set(name, cron);
  }

  /**
   * Adds a job inside the caller's transaction: it exists if and only if the transaction commits.
   * A job due now wakes its workers after the commit; a delayed one waits for their polling.
   */
  async enqueue<T extends object>(
    tx: Tx,
    queue: string,
    data: T,
    options: { startAfterSeconds?: number } = {},
  ) {
    if (!this.queues.has(queue)) throw new Error(`Queue ${queue} is not defined.`);
    await inSpan(
      `publish ${queue}`,
      { 'messaging.destination.name': queue },
      () =>
        this.boss.send(queue, withTraceContext(data), {
          db: transactionRunner(tx),
          ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
        }),
      SpanKind.PRODUCER,
    );
    if (!options.startAfterSeconds) this.wakeups.afterCommit(tx, [queue]);
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
      await inSpan(
        `publish ${eventType}`,
        { 'messaging.destination.name': eventType, 'bazaar.event_id': event.event_id },
        () =>
          this.boss.insert(
            queues.map((name) => ({ name, data: withTraceContext(event) })),
            { db: transactionRunner(tx) },
          ),
        SpanKind.PRODUCER,
      );
      this.wakeups.afterCommit(tx, queues);
    }
    return event;
  }

  /**
   * Records that `handler` applied its effect for `eventId`, in the effect's transaction.
   * Returns false when it already had: the caller then skips the effect.
   */
  async claim(tx: Tx, eventId: string, handler: string): Promise<boolean> {
    const rows = await processedEventClaim(tx, { eventId, handler });
    return rows.length === 1;
  }

  /**
   * Moves a job straight to its queue's dead-letter queue, in the caller's transaction, for a
   * failure no retry can fix (an SMTP 5xx, say): the handler records that and returns normally
   * instead of throwing. The dead letter is listed and replayed like any other.
   */
  async deadLetter<T extends object>(
    tx: Tx,
    queue: string,
    data: T,
    error: string,
    retryCount = 0,
  ): Promise<void> {
    if (!this.queues.has(queue)) throw new Error(`Queue ${queue} is not defined.`);
    // The row pg-boss itself writes when a job runs out of retries (its plans.js `failJobs`).
    await tx.execute(sql`
      insert into pgboss.job (name, data, output, retry_limit)
      values (${deadLetterQueueOf(queue)}, ${JSON.stringify(data)}::jsonb,
        ${JSON.stringify({ message: error })}::jsonb, ${retryCount})`);
  }

  /** Installs pg-boss' schema and every queue. `work` starts consuming them in this process. */
  async start({ work }: { work: boolean }): Promise<void> {
    this.pgBoss = new PgBoss({
      ...this.database.bossConnection,
      schema: 'pgboss',
      max: 4,
      // Maintenance (expiry, retention, dead letters) and turning cron schedules into jobs are the
      // workers' part. A process that only adds jobs (an API server, `migrate`) does neither, so
      // API servers neither poll pg-boss in the background nor slow their start-up with it.
      supervise: work,
      schedule: work,
      migrate: true,
      pollingIntervalSeconds: this.options.pollingIntervalSeconds,
      // Expiry is enforced by this maintenance tick: run it often enough that a crashed
      // worker's jobs come back within about 1.5 × expireInSeconds (pg-boss' default is 120 s).
      maintenanceIntervalSeconds: Math.min(120, Math.max(1, Math.floor(this.options.expireInSeconds / 2))),
    });
    this.pgBoss.on('error', (error: Error) => this.logger.error({ err: error }, 'job queue error'));
    await this.boss.start();
    this.started = true;
    await this.installQueues();
    for (const [name, cron] of this.schedules) await this.boss.schedule(name, cron, {}, { tz: 'UTC' });
    if (!work) return;
    // Listening before the workers start: a wake-up that comes before a worker is known comes
    // before its first fetch too, which finds the job anyway.
    await this.wakeups.listen((queue) => this.fetchNow(queue));
    // One worker per queue fetching up to `concurrency` jobs at a time: the database sees one
    // query per queue per wake-up or interval, not one per job slot.
    for (const { name, handler } of this.queues.values()) {
      const worker = await this.boss.work<never>(
        name,
        { batchSize: this.options.concurrency, includeMetadata: true },
        async (jobs) => {
          await this.run(name, handler, jobs);
          // A full batch may have left jobs behind: fetch again at once, not after the interval.
          if (jobs.length >= this.options.concurrency) this.fetchNow(name);
        },
      );
      this.workers.set(name, worker);
    }
  }

  /**
   * Creates missing queues and brings changed retry settings up to date. One read of the queue
   * table when nothing changed (every start after the first); creations run one after another,
   * because pg-boss' create_queue attaches a partition and concurrent ones can deadlock.
   */
  private async installQueues(): Promise<void> {
    const existing = new Map((await this.boss.getQueues()).map((queue) => [queue.name, queue]));
    const updates: Promise<void>[] = [];
    for (const name of this.queues.keys()) {
      const options = {
        name,
        retryLimit: this.options.retryLimit,
        retryDelay: this.options.retryDelaySeconds,
        retryBackoff: true,
        // A job a crashed worker held comes back after this (plus pg-boss' maintenance tick),
        // instead of pg-boss' default 15 minutes. Every handler here finishes in seconds.
        expireInSeconds: this.options.expireInSeconds,
        deadLetter: deadLetterQueueOf(name),
      };
      if (!existing.has(options.deadLetter)) await this.boss.createQueue(options.deadLetter);
      const current = existing.get(name);
      if (!current) await this.boss.createQueue(name, options);
      else if (!sameQueueSettings(current, options)) updates.push(this.boss.updateQueue(name, options));
    }
    await Promise.all(updates);
  }

  /** Makes this process' worker of `queue` fetch now rather than at its next poll. */
  private fetchNow(queue: string): void {
    const worker = this.workers.get(queue);
    if (worker) this.boss.notifyWorker(worker);
  }

  /**
   * Runs a fetched batch concurrently and settles each job as soon as it ends: a failed job is
   * failed on its own, so it is retried alone; the jobs that succeed in one turn of the event loop
   * are completed together, in one statement. pg-boss completes the whole batch once this returns
   * (a no-op for jobs already settled), so a batch of one job is left to pg-boss alone: a failure
   * is passed on for it to fail the job, a success needs no statement of its own.
   */
  private async run(queue: string, handler: JobHandler<never>, jobs: PgBoss.JobWithMetadata<never>[]) {
    if (jobs.length === 1) {
      await this.handle(queue, handler, jobs[0]!);
      return;
    }
    await Promise.all(
      jobs.map(async (job) => {
        try {
          await this.handle(queue, handler, job);
        } catch (error) {
          await this.boss.fail(queue, job.id, error as object);
          return;
        }
        await this.completions(this.queues.get(queue)!, [job.id], (ids) => this.boss.complete(queue, ids));
      }),
    );
  }

  /** Runs one job's handler, counting and logging how it ended; a failure is passed on. */
  private async handle(queue: string, handler: JobHandler<never>, job: PgBoss.JobWithMetadata<never>) {
    const { data, trace } = withoutTraceContext(job.data);
    try {
      // The handler's span continues the trace of the request (or job) that queued it.
      await context.with(extractTraceContext(trace), () =>
        inSpan(
          `handle ${queue}`,
          { 'messaging.destination.name': queue, 'messaging.message.id': job.id },
          () => handler(data as never, { id: job.id, retryCount: job.retryCount }),
          SpanKind.CONSUMER,
        ),
      );
    } catch (error) {
      this.metrics.jobsProcessed.inc({ queue, outcome: 'failed' });
      this.logger.warn(
        { err: error, queue, job_id: job.id },
        'job failed; pg-boss will retry or dead-letter it',
      );
      throw error;
    }
    this.metrics.jobsProcessed.inc({ queue, outcome: 'completed' });
  }

  /** Every handler queue declared in this process, sorted. */
  get queueNames(): string[] {
    return [...this.queues.keys()].sort();
  }

  /** Per handler queue: waiting, running, retrying, failed in the last 24 h, dead letters. */
  stats(db: Executor): Promise<QueueStats[]> {
    return queueStats(db, this.queueNames);
  }

  /** Dead letters not yet replayed, newest first; `queue` narrows to one handler queue. */
  deadLetters(
    db: Executor,
    query: { queue?: string; page: number; perPage: number },
  ): Promise<{ rows: DeadLetter[]; total: number }> {
    const queues = query.queue ? this.queueNames.filter((q) => q === query.queue) : this.queueNames;
    return listDeadLetters(db, queues, query);
  }

  /**
   * Puts a dead letter's payload back on its handler queue as a new job, in the caller's
   * transaction, and marks the dead letter handled. Event handlers claim `(event_id, handler)`,
   * so a replay of an event whose effect already happened changes nothing.
   */
  async replayDeadLetter(tx: Tx, id: string): Promise<{ queue: string; jobId: string }> {
    const jobId = randomUUID();
    const taken = await takeDeadLetter(tx, this.queueNames, id, { replayed_as: jobId });
    if (!taken) {
      if (await deadLetterExists(tx, this.queueNames, id))
        throw conflict('This dead letter was already replayed.');
      throw notFound('Dead letter');
    }
    await this.boss.send(taken.queue, taken.data ?? {}, { id: jobId, db: transactionRunner(tx) });
    this.wakeups.afterCommit(tx, [taken.queue]);
    return { queue: taken.queue, jobId };
  }

  /** Queue depth and dead letters as gauges, read from the database when Prometheus scrapes. */
  private registerGauges(): void {
    const read = async (gauge: Gauge<'queue'>, queueOf: (name: string) => string) => {
      gauge.reset();
      try {
        const names = this.queueNames;
        const waiting = await waitingJobs(this.database.db, names.map(queueOf));
        for (const name of names) gauge.set({ queue: name }, waiting.get(queueOf(name)) ?? 0);
      } catch (error) {
        this.logger.debug({ err: error }, 'job gauges unavailable');
      }
    };
    new Gauge({
      name: 'bazaar_job_queue_depth',
      help: 'Jobs waiting for a worker (new and retrying), by handler queue.',
      labelNames: ['queue'] as const,
      registers: [this.metrics.registry],
      collect() {
        return read(this, (name) => name);
      },
    });
    new Gauge({
      name: 'bazaar_job_dead_letters',
      help: 'Dead letters not yet replayed, by the handler queue they failed on.',
      labelNames: ['queue'] as const,
      registers: [this.metrics.registry],
      collect() {
        return read(this, deadLetterQueueOf);
      },
    });
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Stops fetching, waits for running handlers (up to `timeoutSeconds`), closes pg-boss' pool. */
  async stop(timeoutSeconds: number): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.wakeups.stop();
    this.workers.clear();
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutSeconds * 1000 });
  }

  /** Used by readiness: pg-boss' schema answers. */
  async ping(tx: { execute: Tx['execute'] }): Promise<void> {
    await tx.execute(sql`select 1 from pgboss.version limit 1`);
  }
}

const processedEventClaim = prepared((db) =>
  db
    .insert(processedEvents)
    .values({ eventId: sql.placeholder('eventId'), handler: sql.placeholder('handler') })
    .onConflictDoNothing()
    .returning({ eventId: processedEvents.eventId })
    .prepare('processed_events_claim'),
);

/**
 * Job payloads carry the W3C trace context of their producer under this key while tracing is
 * on; handlers never see it.
 */
const TRACE_KEY = '_trace';

function withTraceContext<T extends object>(data: T): T {
  const carrier = injectTraceContext();
  return carrier ? { ...data, [TRACE_KEY]: carrier } : data;
}

function withoutTraceContext(data: unknown): { data: unknown; trace?: Record<string, string> } {
  if (data === null || typeof data !== 'object' || !(TRACE_KEY in data)) return { data };
  const { [TRACE_KEY]: trace, ...rest } = data as Record<string, unknown>;
  return { data: rest, trace: trace as Record<string, string> };
}

type QueueSettings = Pick<
  PgBoss.Queue,
  'retryLimit' | 'retryDelay' | 'retryBackoff' | 'expireInSeconds' | 'deadLetter'
>;

function sameQueueSettings(current: QueueSettings, wanted: QueueSettings): boolean {
  return (
    current.retryLimit === wanted.retryLimit &&
    current.retryDelay === wanted.retryDelay &&
    current.retryBackoff === wanted.retryBackoff &&
    current.expireInSeconds === wanted.expireInSeconds &&
    current.deadLetter === wanted.deadLetter
  );
}
