import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { DatabaseHandle, Tx } from '../db/client.js';
import { onCommit } from '../db/commit-hooks.js';
import type { Logger } from '../observability/logger.js';

/**
 * Worker wake-ups. pg-boss workers find jobs by polling; a transaction that adds jobs due now
 * also says which queues got them, once it has committed, and every worker of those queues
 * fetches at once instead of at its next poll. Only a hint: a lost wake-up costs latency (the
 * poll still comes), never a job; a needless one costs an empty fetch.
 */
export interface WakeChannel {
  /** Tells every listening process (this one too) that these queues have jobs. Best effort. */
  send(queues: string[]): Promise<void>;
  /** Calls `onWake` for every wake-up; resolves once listening, to a function that stops. */
  listen(onWake: (queues: string[]) => void): Promise<() => Promise<void>>;
}

/** How long a worker's start waits for its Redis subscription before going on without it. */
const SUBSCRIBE_TIMEOUT_MS = 2_000;
const POSTGRES_CHANNEL = 'bazaar_jobs_wake';

/**
 * Redis pub/sub when Redis is configured (it works behind PgBouncer, where LISTEN does not);
 * else PostgreSQL's LISTEN/NOTIFY; embedded, server and worker share the process.
 */
export function wakeChannelFor(options: {
  database: DatabaseHandle;
  redis?: Redis;
  keyPrefix: string;
}): WakeChannel {
  if (options.redis) return redisChannel(options.redis, `${options.keyPrefix}jobs:wake`);
  if (options.database.listen) return postgresChannel(options.database);
  return inProcessChannel();
}

function inProcessChannel(): WakeChannel {
  const listeners = new Set<(queues: string[]) => void>();
  return {
    send: async (queues) => {
      for (const listener of listeners) listener(queues);
    },
    listen: async (onWake) => {
      listeners.add(onWake);
      return async () => void listeners.delete(onWake);
    },
  };
}

function redisChannel(redis: Redis, channel: string): WakeChannel {
  return {
    send: async (queues) => void (await redis.publish(channel, JSON.stringify(queues))),
    async listen(onWake) {
      // A subscribed connection can do nothing else, so it is one of its own. It subscribes
      // whenever it (re)connects; the shared client already reports Redis being down.
      const subscriber = redis.duplicate({ autoResubscribe: false });
      subscriber.on('error', () => undefined);
      subscriber.on('message', (_channel: string, message: string) => onWake(queuesOf(message)));
      const subscribed = new Promise<void>((resolve) => {
        subscriber.on('ready', () => {
          subscriber.subscribe(channel).then(
            () => resolve(),
            () => undefined,
          );
        });
      });
      await within(subscribed, SUBSCRIBE_TIMEOUT_MS);
      return async () => subscriber.disconnect();
    },
  };
}

function postgresChannel(database: DatabaseHandle): WakeChannel {
  return {
    send: async (queues) =>
      void (await database.db.execute(sql`select pg_notify(${POSTGRES_CHANNEL}, ${JSON.stringify(queues)})`)),
    listen: (onWake) => database.listen!(POSTGRES_CHANNEL, (payload) => onWake(queuesOf(payload))),
  };
}

/**
 * The sending and receiving ends of wake-ups in one process. Queues woken by the commits of one
 * event-loop turn go out as one message; on the receiving end a worker that is already fetching
 * or running jobs fetches again once when it is done, however many wake-ups came meanwhile.
 */
export class Wakeups {
  private readonly pending = new Set<string>();
  private flushScheduled = false;
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly channel: WakeChannel,
    private readonly logger: Logger,
  ) {}

  /** Wakes the workers of `queues` once `tx` has committed; never after a rollback. */
  afterCommit(tx: Tx, queues: readonly string[]): void {
    if (queues.length === 0) return;
    onCommit(tx, () => {
      for (const queue of queues) this.pending.add(queue);
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const queues = [...this.pending];
    this.pending.clear();
    this.channel.send(queues).catch((error: unknown) => {
      this.logger.debug({ err: error }, 'worker wake-up not sent; the next poll finds the jobs');
    });
  }

  /** Calls `wake` with each queue named by a wake-up, from any process. */
  async listen(wake: (queue: string) => void): Promise<void> {
    try {
      this.stopListening = await this.channel.listen((queues) => queues.forEach(wake));
    } catch (error) {
      this.logger.warn({ err: error }, 'worker wake-ups unavailable; jobs are found by polling');
    }
  }

  async stop(): Promise<void> {
    await this.stopListening?.().catch(() => undefined);
    this.stopListening = undefined;
  }
}

function queuesOf(message: string): string[] {
  try {
    const queues: unknown = JSON.parse(message);
    return Array.isArray(queues) ? queues.filter((queue) => typeof queue === 'string') : [];
  } catch {
    return [];
  }
}

function within(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
